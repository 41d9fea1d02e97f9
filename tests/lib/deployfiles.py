"""deployfiles.py -- parsers of the deploy files for the tests: systemd units, the output
of `docker-compose config`, Dockerfiles (stages, apt-get install lists, COPY applied to a
directory), the web servers' snippets (lighttpd's fastcgi.server block, nginx's regex
locations, Apache's LocationMatch blocks).

Limits: Python 3.11 standard library only; each parser reads just the subset of its format
that deploy/ uses (no YAML library: the normalised output of docker-compose config).
"""

import os
import re
import shlex
import shutil


def parse_unit(path):
    """A unit file as {section: [(key, value), ...]} (keys may repeat, as in systemd)."""
    out, sec = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                sec = line[1:-1]
                out.setdefault(sec, [])
            elif "=" in line and sec:
                k, _, v = line.partition("=")
                out[sec].append((k.strip(), v.strip()))
    return out


def unit_values(unit, sec, key):
    return [v for k, v in unit.get(sec, []) if k == key]


def unit_value(unit, sec, key):
    vals = unit_values(unit, sec, key)
    return vals[-1] if vals else None


def yaml_scalar(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == "'" and s[-1] == "'":
        return s[1:-1].replace("''", "'")
    if len(s) >= 2 and s[0] == '"' and s[-1] == '"':
        return s[1:-1]
    return s


def parse_compose_config(text):
    """`docker-compose config` output (block YAML, 2-space indents, as it prints it) read as
    text: {service: {"keys": set of its top keys, "healthcheck": [test argv],
    "ports": [...], "volumes": [...], "depends": {service: condition}}}."""
    services, cur, path = {}, None, []
    lines = text.split("\n")
    in_services = False
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if indent == 0:
            in_services = body == "services:"
            continue
        if not in_services:
            continue
        if indent == 2 and body.endswith(":"):
            cur = services.setdefault(body[:-1], {"keys": set(), "healthcheck": [],
                                                  "ports": [], "volumes": [], "depends": {}})
            path = []
            continue
        if cur is None:
            continue
        if indent == 4 and not body.startswith("-"):
            key = body.split(":", 1)[0]
            cur["keys"].add(key)
            path = [key]
            continue
        if body.startswith("- ") or body == "-":
            # a list item; continuation lines are deeper and not items themselves
            item = body[2:]
            while i < len(lines) and lines[i].strip() and \
                    len(lines[i]) - len(lines[i].lstrip(" ")) > indent and \
                    not lines[i].strip().startswith("- "):
                item += " " + lines[i].strip()
                i += 1
            item = yaml_scalar(item)
            if path[:1] == ["healthcheck"] and path[-1:] == ["test"]:
                cur["healthcheck"].append(item)
            elif path == ["ports"]:
                cur["ports"].append(item)
            elif path == ["volumes"]:
                cur["volumes"].append(item)
            continue
        if indent >= 6 and path:
            key = body.split(":", 1)[0]
            if path[0] == "depends_on" and indent == 6:
                path = ["depends_on", key]
            elif path[0] == "depends_on" and key == "condition":
                cur["depends"][path[1]] = body.split(":", 1)[1].strip()
            elif path[0] == "healthcheck" and indent == 6:
                path = ["healthcheck", key]
    return services


def parse_dockerfile(path):
    """Stages as dicts {from, name, instrs: [(INSTR, args)]}, continuation lines joined."""
    stages, logical, buf = [], [], ""
    with open(path) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if buf and line.lstrip().startswith("#"):
                continue
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            logical.append(buf + line)
            buf = ""
    for line in logical:
        instr, _, args = line.strip().partition(" ")
        instr = instr.upper()
        args = " ".join(args.split())
        if instr == "FROM":
            m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", args, re.I)
            stages.append({"from": m.group(1), "name": m.group(2), "instrs": []})
        elif stages:
            stages[-1]["instrs"].append((instr, args))
    return stages


def apt_packages(run_args):
    m = re.search(r"apt-get install ([^&;]*)", run_args)
    return [w for w in (m.group(1).split() if m else []) if not w.startswith("-")]


def docker_copy(ctx, workdir, args, root):
    """Applies one `COPY src... dest` (no --from) from the build context ctx into root."""
    parts = shlex.split(args)
    srcs, dest = parts[:-1], parts[-1]
    dest_abs = dest if dest.startswith("/") else os.path.join(workdir, dest)
    target = os.path.join(root, dest_abs.lstrip("/"))
    for s in srcs:
        sp = os.path.join(ctx, s)
        if not os.path.exists(sp):
            raise FileNotFoundError("COPY source missing from the build context: " + s)
        if os.path.isdir(sp):
            shutil.copytree(sp, target, dirs_exist_ok=True, symlinks=True)
        else:
            if dest.endswith("/") or len(srcs) > 1:
                os.makedirs(target, exist_ok=True)
                shutil.copy2(sp, os.path.join(target, os.path.basename(s)))
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copy2(sp, target)


def uncommented(text):
    return "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))


def lighttpd_fastcgi_match(text):
    """The regex of the $HTTP["url"] =~ block that holds fastcgi.server (and that block)."""
    text = uncommented(text)
    for m in re.finditer(r'\$HTTP\["url"\] =~ "([^"]*)" \{', text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        block = text[m.end():i]
        if "fastcgi.server" in block:
            return m.group(1), block
    return None, ""


def nginx_locations(text):
    """[(regex, body)] of the server block's `location ~ REGEX { ... }`, in order (nginx
    tries regex locations in the order they appear)."""
    text = uncommented(text)
    out = []
    for m in re.finditer(r"location ~ (\S+) \{", text):
        out.append((m.group(1), text[m.end():text.index("}", m.end())]))
    return out


def nginx_location_for(locs, path):
    return next(((rx, body) for rx, body in locs if re.search(rx, path)), (None, ""))


def apache_blocks(text):
    """[(regex, body)] of each <LocationMatch "REGEX"> ... </LocationMatch>."""
    return re.findall(r'<LocationMatch "([^"]*)">(.*?)</LocationMatch>', uncommented(text),
                      re.S)
