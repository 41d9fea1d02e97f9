"""urlpattern_diff.py -- src/mercure/urlpattern.c and url.c against Chromium's own URLPattern and URL.

A seeded generator composes thousands of cases from the grammars: constructor strings and
init objects (protocols, credentials, hosts with ports, IDN and IP literals, pathnames of
fixed text with special characters, named groups with and without regexps, wildcards,
optional and repeated groups, {...} groups, escapes; search and hash patterns), relative
patterns resolved against https://hub.example.com/.well-known/mercure and other bases,
regexp groups from a grammar of ECMAScript regular expressions (valid and not), and URLs
alone (special and not, IPv4 forms, IPv6, percent-encoding, dot segments, backslashes,
tabs and newlines, relative references). Inputs are derived from each pattern by filling
its groups, then mutated.

Each case runs in headless Chromium (tests/browser/urlpattern_oracle.mjs: new URLPattern
and .test(), new URL()) and through tests/unit/mercure/urlpattern_cases (our C code);
the results are compared per category:
- compile: both accept or both refuse, except a regexp group we refuse on purpose (the
  subset in src/mercure/urlpattern.h: "unsupported") and the documented IDNA difference;
- match: test() agrees on every input whose URL both sides parse to the same components;
- url: new URL() and url_parse() give the same components or both fail.
Differences that are documented (Chromium's URL parser departs from the URL Standard in a
few places, libidn2 is stricter than UTS#46) are counted by reason, never silently; any
other difference is a failure, printed with its case.

Environment: URLPATTERN_DIFF_SEED (default 21), URLPATTERN_DIFF_SCALE (default 1: about
6,000 patterns and 2,000 URLs). Needs node, npm's playwright-core (tests/browser, installed
under the build directory) and /usr/bin/chromium: without them each category is "not ok"
with the reason (CI installs them).
"""

import json
import os
import random
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
sys.dont_write_bytecode = True
from harness import BUILDDIR, Tap  # noqa: E402
from nodedeps import node_dir  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CASES_BIN = os.path.join(BUILDDIR, "tests", "unit", "mercure", "urlpattern_cases")
HUB = "https://hub.example.com/.well-known/mercure"
SEED = int(os.environ.get("URLPATTERN_DIFF_SEED", "21"))
SCALE = float(os.environ.get("URLPATTERN_DIFF_SCALE", "1"))

# ---------------------------------------------------------------- the generator

SPECIAL = ("http", "https", "ws", "wss", "ftp", "file")
NAMES = ("id", "slug", "x", "_a", "$b", "caf\u00e9", "n1", "topic")
TEXT = ("books", "a", "x-y", "a.b", "~u", "%20", "caf%C3%A9", "caf\u00e9", "sp ace", "it's",
        "a|b", "a^b", "@x", "!$&", "=,;", "[x]", "\u00fc", "\u65e5\u672c", "A", "..", ".",
        "%2e", "a\"b", "<t>", "`q`", "50%", "%zz", "a%2Fb")
REGEXPS = ("\\d+", "[a-z]+", "[^/]+?", ".*", "a|b", "\\w{2,4}", "(?:x|y)z", "[0-9a-f]{2}",
           ".+", "[^.]+?", "\\d{1,3}", "b[aeiou]+k", "(?!admin)[a-z]+", "[\\w-]+",
           "\\d+(?:\\.\\d+)?", "(?:.*)", "x?", "[A-Z][a-z]*")
SAMPLES = ("42", "7", "abc", "books", "a.b", "x-y", "caf%C3%A9", "x", "z9", "admin",
           "1.5", "ab", "book", "%20", "A", "deadbeef", "", "a/b", "12345", "Zed")


def pick(r, seq):
    return seq[r.randrange(len(seq))]


def escape_pattern(s):
    return "".join("\\" + c if c in "+*?:{}()\\" else c for c in s)


def group_piece(r, allow_wild=True):
    """A matching group in pattern syntax, and a sample value it may match."""
    k = r.random()
    if k < 0.35:
        pat = ":" + pick(r, NAMES)
    elif k < 0.6:
        pat = ":" + pick(r, NAMES) + "(" + pick(r, REGEXPS) + ")"
    elif k < 0.75 and allow_wild:
        pat = "*"
    else:
        pat = "(" + pick(r, REGEXPS) + ")"
    return pat, pick(r, SAMPLES)


def modifier(r):
    return pick(r, ("", "", "", "?", "*", "+"))


def pathname(r):
    """A pathname pattern and an example path."""
    pat, ex = "", ""
    used = set()
    for _ in range(r.randint(0, 4)):
        k = r.random()
        if k < 0.4:
            t = pick(r, TEXT)
            pat += "/" + escape_pattern(t)
            ex += "/" + t
        elif k < 0.75:
            g, v = group_piece(r)
            name = g.split("(")[0]
            if name.startswith(":") and name in used:
                g = g.replace(name, name + "2", 1)
            used.add(g.split("(")[0])
            m = modifier(r)
            pat += "/" + g + m
            if m in ("*", "+") and r.random() < 0.5:
                ex += "/" + v + "/" + pick(r, SAMPLES)
            elif not (m in ("?", "*") and r.random() < 0.4):
                ex += "/" + v
        elif k < 0.9:
            t = pick(r, TEXT)
            m = pick(r, ("?", "*", "+", ""))
            pat += "{/" + escape_pattern(t) + "}" + m
            ex += "" if m in ("?", "*") and r.random() < 0.5 else "/" + t
        else:
            g, v = group_piece(r, allow_wild=False)
            pat += "{-" + g + "}" + pick(r, ("?", "*", "+"))
            ex += "-" + v
    if r.random() < 0.2:
        pat += "/"
        ex += "/"
    if r.random() < 0.1:
        pat += "/*"
        ex += "/" + pick(r, SAMPLES)
    return pat or "/", ex or "/"


HOSTS = (("example.com", "example.com"), ("EXAMPLE.com", "example.COM"),
         ("{:sub.}?example.com", "www.example.com"), ("*.example.com", "a.b.example.com"),
         (":sub.example.org", "api.example.org"), ("(www|api).example.com", "api.example.com"),
         ("b\u00fccher.example", "xn--bcher-kva.example"),
         ("xn--bcher-kva.example", "B\u00dcCHER.example"), ("127.0.0.1", "0x7f.1"),
         ("0x7f.0.0.1", "127.0.0.1"), ("[\\:\\:1]", "[0:0::1]"),
         ("a-b.example", "a-b.example"), ("*", "anything.test"), ("sub.*.com", "sub.x.com"),
         ("localhost", "LOCALHOST"), ("ex%41mple.com", "example.com"),
         ("{*.}?example.net", "example.net"), ("[:addr]", "[::2]"), ("\u00c5.se", "xn--5ca.se"),
         ("[\\:\\:AB\\::num]", "[::ab:1]"), ("\u65e5\u672c.jp", "xn--wgv71a.jp"),
         ("{:a}.{:b}.example", "x.y.example"), ("*.*", "a.b"), ("[*\\:1]", "[::ab:1]"))
BAD_HOSTS = (("[\\:\\:ffff\\:1.2.3.4]", "[::1]"), ("\u2603.example", "xn--n3h.example"),
             ("h\u00e9llo-.example", "x.example"), ("a b", "a"), ("*\\:1]", "x"),
             ("ex%2Fample", "ex"), ("a#b", "a"), ("{[\\:\\:f\u00e9\\::num]}", "[::1]"))
PROTOCOLS = ("https", "https", "http", "http{s}?", "*", "(https|wss)", "ws", "wss", "ftp",
             "file", "foo", "git\\+ssh", ":proto", "(.*)", "{http}", "h*", "ws{s}?")
BAD_PROTOCOLS = ("https?", "git+ssh", "caf\u00e9", "(caf\u00e9)", "1http")
PORTS = ("", "", "", "", ":8080", ":*", ":(\\d+)", ":80", ":443", ":65535", ":21", ":8{0}?")
BAD_PORTS = (":65536", ":x", ":-1", ":8080x")
SEARCHES = ("", "", "?q=:v", "?*", "?a=1&b=:x", "?x=(\\d+)", "?'", "?a b", "?\u00e9",
            "\\?foo", "?{k=:v}?")
HASHES = ("", "", "#top", "#:frag", "#*", "#a b", "#\u00e9", "#{x}+")


def concrete(s):
    """A pattern's text with its syntax removed, as a rough example."""
    out, depth = "", 0
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out += s[i + 1]
            i += 2
            continue
        if c in "{}?+":
            i += 1
            continue
        if c == "*":
            out += "x"
            i += 1
            continue
        if c == ":":
            j = i + 1
            while j < len(s) and (s[j].isalnum() or s[j] in "_$"):
                j += 1
            out += "v" if j > i + 1 else ":"
            i = j
            continue
        if c == "(":
            depth = 1
            j = i + 1
            while j < len(s) and depth:
                depth += {"(": 1, ")": -1}.get(s[j], 0)
                j += 1
            out += "1"
            i = j
            continue
        out += c
        i += 1
    return out


def constructor_pattern(r):
    """An absolute constructor string and example inputs."""
    proto = pick(r, PROTOCOLS if r.random() < 0.97 else BAD_PROTOCOLS)
    host, hex_ = pick(r, HOSTS if r.random() < 0.94 else BAD_HOSTS)
    port = pick(r, PORTS if r.random() < 0.97 else BAD_PORTS)
    path, pex = pathname(r)
    search, hash_ = pick(r, SEARCHES), pick(r, HASHES)
    cred = pick(r, ("", "", "", "user@", "u\\:p@", ":user@", "*@", ":u\\::p@"))
    if r.random() < 0.12:  # an opaque path
        p = proto if proto not in SPECIAL else "foo"
        body = pick(r, ("bar/:x", "a\\:b", "mail(.*)", "*", ":x@example.com", "text/plain,:d",
                        "a b", "x y?z"))
        pat = p + ":" + body
        ex = concrete(p) + ":" + concrete(body)
        return pat, [ex, ex + "?q", p + ":" + "other"]
    pat = proto + "://" + cred + host + port + path + search + hash_
    scheme = pick(r, ("https", "http")) if proto in ("*", "http{s}?", "(.*)", "h*", ":proto") \
        else concrete(proto).replace("1", "https")
    ex_port = {"": "", ":8080": ":8080", ":*": pick(r, ("", ":1234")), ":(\\d+)": ":99",
               ":80": ":80", ":443": ":443", ":0": ":0", ":65535": ":65535"}.get(port, "")
    ex = scheme + "://" + concrete(cred) + hex_ + ex_port + pex + concrete(search) + concrete(hash_)
    return pat, [ex]


def relative_pattern(r):
    base = pick(r, (HUB, HUB, "https://example.com/a/b/?x=1#f", "http://localhost:3000/",
                    "foo://bar/baz", "https://h.example:8443/dir/"))
    k = r.random()
    if k < 0.5:
        path, ex = pathname(r)
        if r.random() < 0.3:
            path, ex = path.lstrip("/"), ex.lstrip("/")
        pat = path + pick(r, ("", "", "?q=:v", "#:h"))
        inputs = [ex, ex + "?q=1"]
    else:
        pat = pick(r, ("/.well-known/mercure/subscriptions/exact/:topic/:subscriber",
                       "/.well-known/mercure/subscriptions{/:topic}?{/:sub}?",
                       "../x/:y", "./:a", "?q=:v", "#frag", ":id", "*", "books/:id(\\d+)",
                       "/books/*", "/.well-known/mercure/subscriptions/*", "", "/:x+",
                       "{/:lang}?/docs/*", "//evil.example/*", "\\/:x"))
        inputs = ["/.well-known/mercure/subscriptions/exact/a/b", "/books/42", "x/1", "?q=2",
                  "#frag", "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fa/s1",
                  "/docs/a"]
    return pat, base, inputs


def init_pattern(r):
    init = {}
    if r.random() < 0.5:
        init["protocol"] = pick(r, PROTOCOLS + ("https:", "git+ssh"))
    if r.random() < 0.5:
        init["hostname"] = pick(r, HOSTS if r.random() < 0.9 else BAD_HOSTS)[0]
    if r.random() < 0.3:
        init["port"] = pick(r, ("80", "443", "8080", "8080 ", "8080x", "x", "", "*", "(\\d+)", "0443"))
    if r.random() < 0.7:
        init["pathname"] = pathname(r)[0] if r.random() < 0.8 else pick(r, ("b", "./x", "../y/:z",
                                                                           "", ":n.html"))
    if r.random() < 0.3:
        init["search"] = pick(r, SEARCHES + ("?x",))
    if r.random() < 0.3:
        init["hash"] = pick(r, HASHES + ("#y",))
    if r.random() < 0.15:
        init["username"] = pick(r, ("u", ":user", "*", "a b"))
    if r.random() < 0.15:
        init["password"] = pick(r, ("p", ":pw", "*", "\u00e9"))
    if r.random() < 0.3:
        init["baseURL"] = pick(r, (HUB, HUB, "https://example.com/a/b?c#d", "data:x", "not a url"))
    return init


RE_ATOMS = ("a", "b", "0", "-", "/", ".", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "\\.",
            "\\/", "\\x61", "\\u0062", "\\u{63}", "\\cA", "\\0", "\\ud83d\\ude00", "[abc]",
            "[^a-c]", "[!]", "[\\w\\s]", "[]", "[^]", "[\\b]", "[\\-]", "[\\&]", "[^^]", "[.]",
            "[\\x41-\\x5a]", "[a-z0-9]", "[^\\d]", "[\\D]", "[%~]", "^", "$", "\\b", "\\B", "%",
            "~", "_", "=", "'", "!", "@", "A", "9", "\\$", "\\^", "\\|", "\\{", "\\}", "\\[",
            "\\]", "\\*", "\\+", "\\?", "\\u{1F600}", "[\\u{1F600}-\\u{1F64F}]")
RE_BAD = ("\\-", "\\00", "\\k", "\\1", "\\p{L}", "\\q", "\\a", "\\u{110000}", "\\ud800",
          "[a-]", "[\\d-z]", "[a&&b]", "[a!!]", "[z-a]", "[[a]]", "[a--b]", "[-]", "[\\q{x}]",
          "[a{]", "[|]", "[^^^]", "}", "]", "{", "\\c1", "\\x4", "\\u12", "[\\B]", "[a-\\d]",
          "[/]", "[(?]")
RE_QUANT = ("*", "+", "?", "{2}", "{1,3}", "{2,}", "*?", "+?", "??", "{0}", "{0,1}?")
RE_BAD_QUANT = ("{3,1}", "{,2}", "**", "{1001}", "+*", "{1", "{a}")


def regexp(r, depth=0):
    """An ECMAScript regular expression (v flag): mostly valid, some not."""
    out = ""
    for _ in range(r.randint(1, 4)):
        k = r.random()
        if k < 0.18 and depth < 3:
            inner = regexp(r, depth + 1)
            opener = pick(r, ("(?:", "(?:", "(?=", "(?!")) if r.random() < 0.9 else \
                pick(r, ("(?<=", "(?<n>", "(?i:", "(?x", "(?<!"))
            out += opener + inner + ")"
            if opener in ("(?=", "(?!"):
                continue
        elif k < 0.25:
            out += "|"
            continue
        else:
            out += pick(r, RE_ATOMS) if r.random() < 0.93 else pick(r, RE_BAD)
        if r.random() < 0.35:
            out += pick(r, RE_QUANT) if r.random() < 0.93 else pick(r, RE_BAD_QUANT)
    return out


def regexp_inputs(r):
    alphabet = ("a", "b", "c", "0", "9", "-", "/", ".", "_", "~", "%20", "A", "!", "'", "=")
    return ["/" + "".join(pick(r, alphabet) for _ in range(r.randint(0, 5))) for _ in range(6)]


def mutate(r, s):
    k = r.random()
    if not s:
        return "x"
    i = r.randrange(len(s))
    if k < 0.2:
        return s[:i] + s[i + 1:]
    if k < 0.4:
        return s[:i] + pick(r, ("x", "/", ".", "%", "A", "?", "#", ":", "@", " ", "\t", "\\")) + s[i:]
    if k < 0.5:
        return s.upper() if r.random() < 0.5 else s.swapcase()
    if k < 0.6:
        return s + "/"
    if k < 0.7:
        return s.rsplit("/", 1)[0]
    if k < 0.8:
        return s.replace("https:", "http:", 1) if "https:" in s else s.replace("http:", "https:", 1)
    if k < 0.9:
        return s + pick(r, ("?a=1", "#h", "/x", ":8080", "?q=:v"))
    return s.replace("/", "/./", 1) if r.random() < 0.5 else s.replace("/", "/../", 1)


URL_SCHEMES = ("https", "http", "HTTP", "ws", "wss", "ftp", "file", "foo", "git+ssh", "data",
               "javascript", "mailto", "urn", "h-t.tp", "1http", "")
URL_HOSTS = ("example.com", "EXAMPLE.com", "127.0.0.1", "0x7f.1", "127.1", "0177.0.0.1",
             "1.2.3.4.", "4294967295", "4294967296", "09.1.1.1", "[::1]", "[0:0::1]",
             "[1:0:0:0:0:0:0:1]", "[::ffff:1.2.3.4]", "[1::2::3]", "[fe80::1%25eth0]",
             "b\u00fccher.example", "xn--bcher-kva.example", "xn--zz.example", "ex%41mple.com",
             "a b", "a%20b", "a<b", "\u2603.example", "\uff21.example", "a..b", ".a.", "x_y",
             "\u00df.de", "\u0130.tr", "", "%", "a%zz", "xn--", "1.2.3", "0x", "a.0x1",
             "\u6f22\u5b57.jp", "\u0661.example", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629.eg")
URL_PATHS = ("", "/", "/a/b", "/a/./b/../c", "/%2e/x", "/a/%2E%2e/b", "\\a\\b", "/a b",
             "/\u00e9", "/a|b", "/a^b", "/{x}", "/`", "/'", "/a%2Fb", "/..", "/./", "//x",
             "/c:/x", "/C|/y", "/a\tb", "/a\nb", "/%zz", "/~u/@:!$&()*+,;=")
URL_QUERIES = ("", "?", "?a=1", "?a b", "?'", "?\u00e9", "?`{}|^", "?#", "?\"<>")
URL_FRAGS = ("", "#", "#a b", "#\u00e9", "#`", "#'", "##", "#\"<>{}")


def url_case(r):
    k = r.random()
    if k < 0.15:  # relative references
        base = pick(r, (HUB, "https://example.com/a/b?c#d", "file:///C:/x/y", "foo://h/p/q",
                        "data:text/plain,x", "http://u:p@h:81/x"))
        ref = pick(r, ("../x", "./y", "/abs", "//other/p", "?q", "#f", "", "x:y", "\\\\h\\p",
                       "..", "%2e%2e/z", "C:/w", "///t", "https:rel", "foo:rel", " \t/sp "))
        return ref, base
    scheme = pick(r, URL_SCHEMES)
    if k < 0.25:
        return scheme + ":" + pick(r, ("a b ?x", "x y#z", "alert(1)", "//h/p", "/p", "\u00e9 ",
                                       "a  ", " ")), None
    cred = pick(r, ("", "", "", "u@", "u:p@", "u:p:q@", "@", "a@b@", ":@", "\u00e9:\u00e9@", "u p@"))
    port = pick(r, ("", "", ":", ":80", ":443", ":8080", ":0", ":65535", ":65536", ":21", ":x",
                    ":00080"))
    sep = pick(r, ("://", "://", ":/", ":\\\\", ":", ":///"))
    url = (scheme + sep + cred + pick(r, URL_HOSTS) + port + pick(r, URL_PATHS) +
           pick(r, URL_QUERIES) + pick(r, URL_FRAGS))
    if r.random() < 0.1:
        url = pick(r, (" ", "\t", "\x01", "")) + url + pick(r, (" ", "\n", "\x1f", ""))
    return url, None


def generate(seed, scale):
    r = random.Random(seed)
    cases = []
    for _ in range(int(2400 * scale)):
        pat, exs = constructor_pattern(r)
        inputs = []
        for ex in exs:
            inputs.append([ex, None])
            for _ in range(3):
                inputs.append([mutate(r, ex), None])
        cases.append({"k": "p", "cat": "constructor", "p": pat, "b": None, "i": inputs})
    for _ in range(int(1200 * scale)):
        pat, base, exs = relative_pattern(r)
        inputs = []
        for ex in r.sample(exs, min(3, len(exs))):
            inputs.append([ex, base])
            inputs.append([mutate(r, ex), base])
        inputs.append([r.choice(["https://hub.example.com/books/1",
                                 "https://hub.example.com/.well-known/mercure/subscriptions/exact/t/s",
                                 "foo://bar/x", "http://localhost:3000/docs/x"]), None])
        cases.append({"k": "p", "cat": "relative", "p": pat, "b": base, "i": inputs})
    for _ in range(int(1200 * scale)):
        init = init_pattern(r)
        path = pathname(r)[1]
        host = pick(r, HOSTS)[1]
        inputs = [[pick(r, ("https", "http", "foo", "wss")) + "://" + host + path, None]
                  for _ in range(2)]
        inputs += [[mutate(r, inputs[0][0]), None], [path or "/", HUB]]
        cases.append({"k": "p", "cat": "init", "p": init, "b": None, "i": inputs})
    for _ in range(int(1200 * scale)):
        cases.append({"k": "p", "cat": "regexp", "p": {"pathname": "/(" + regexp(r) + ")"},
                      "b": None, "i": [[x, "https://re.example"] for x in regexp_inputs(r)]})
    for _ in range(int(2000 * scale)):
        u, b = url_case(r)
        cases.append({"k": "u", "cat": "url", "u": u, "b": b})
    return cases


# ---------------------------------------------------------------- documented differences
# Where Chromium's URL parser departs from the URL Standard, or we refuse on purpose. Each
# is recognized precisely (a predicate on both results, or our result on the input as
# Chromium reads it), counted and reported; anything else is a disagreement.

DRIVE = re.compile(r"^/[A-Za-z](:|\||%7C)(?=/|$)")


def retry_input(inp, base):
    """The input as Chromium reads it, where it departs from the standard in a way a
    rewrite of the input shows, with the reason; or None."""
    if base is not None and "\\" in inp and base.split(":", 1)[0].lower() not in SPECIAL:
        return inp.replace("\\", "/"), "Chromium reads '\\' as '/' in a reference against a non-special base"
    body = inp.strip("".join(chr(c) for c in range(0x21)))
    if body.lower().startswith("data:") and any(c in body for c in "\t\n\r"):
        return (body.replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D"),
                "Chromium keeps tabs and newlines in data: URLs (as %09, %0A, %0D)")
    return None


FILE_NO_PATH = re.compile(r"(?i)^[\x00- ]*file:[/\\]{2}[^/\\?#]+[?#]")
FILE_DRIVE_HOST = re.compile(r"(?i)^[\x00- ]*file:[/\\]{2}[a-z][:|]([/\\?#]|$)")


def url_difference(chrome, ours, ours_why, retried, inp="", base=None):
    """Why Chromium's and our components of one URL differ in a documented way, or None.
    retried: (our components of the input as Chromium reads it, reason) or None."""
    if retried and retried[0] == chrome:
        return retried[1]
    if retried and retried[0] is not None and chrome is not None:
        why = url_difference(chrome, retried[0], None, None)
        if why:
            return retried[1] + " + " + why
    if chrome is None and ours is not None and ours[0] == "file" and FILE_NO_PATH.match(inp):
        return "Chromium refuses a file URL whose host is followed by '?' or '#'"
    if (chrome is None and ours is not None and ours[0] == "file" and DRIVE.match(ours[5]) and
            FILE_DRIVE_HOST.match(inp)):
        return "Chromium does not apply the Windows drive letter quirks of file URLs"
    if (base is not None and base.split(":", 1)[0].lower() not in SPECIAL and
            len(inp) >= 2 and inp[0] in "/\\" and inp[1] in "/\\" and "\\" in inp[:2]):
        return ("Chromium reads a reference starting with two of '/' and '\\' (one a '\\') "
                "against a non-special base as scheme-relative (the standard: as a path)")
    if chrome is not None and ours is None:
        if ours_why and "internationalized domain name" in ours_why:
            return "libidn2 (IDNA2008) refuses a host UTS#46 accepts"
        if ours_why and "forbidden code point" in ours_why and "%20" in chrome[3]:
            return "Chromium accepts a space in a special URL's host (as %20)"
        return None
    if chrome is None or ours is None:
        return None
    fixed = list(ours)
    reasons = []
    if fixed[0] == "file" and fixed[3] == "" and chrome[3] == "localhost":
        fixed[3] = chrome[3]
        reasons.append("Chromium keeps a file URL's host localhost (the standard empties it)")
    if fixed[0] == "file" and fixed[5].startswith("//") and "/" + fixed[5].lstrip("/") == chrome[5]:
        fixed[5] = chrome[5]
        reasons.append("Chromium collapses the empty segments that start a file URL's path")
    if "|" in fixed[5] and fixed[5].replace("|", "%7C") == chrome[5]:
        fixed[5] = chrome[5]
        reasons.append("Chromium percent-encodes '|' in paths")
    if fixed[0] not in SPECIAL and "'" in fixed[6] and fixed[6].replace("'", "%27") == chrome[6]:
        fixed[6] = chrome[6]
        reasons.append("Chromium percent-encodes \"'\" in a non-special URL's query")
    if fixed[5].endswith("%20") and fixed[5][:-3] + " " == chrome[5]:
        fixed[5] = chrome[5]
        reasons.append("Chromium keeps an opaque path's space before '?' or '#' (not %20)")
    if fixed[0] == "file" and DRIVE.match(fixed[5]) and (
            DRIVE.sub("", fixed[5]) == DRIVE.sub("", chrome[5]) or DRIVE.sub("", fixed[5]) == chrome[5]):
        fixed[5] = chrome[5]
        reasons.append("Chromium does not apply the Windows drive letter quirks of file URLs")
    return " + ".join(reasons) if fixed == chrome and reasons else None


HOST_PIECE = re.compile(r'^the hostname pattern\'s text "[/?#\\\\].*": the host is missing$')


def compile_difference(chrome, ours):
    """Why the two disagree on accepting a pattern in a documented way, or None."""
    if not ours["ok"] and chrome["ok"] and HOST_PIECE.match(ours.get("e", "")):
        return ("Chromium canonicalizes hostname pattern text starting with '/', '?', '#' or "
                "'\\' to \"\" (the standard: host missing, a TypeError)")
    if not ours["ok"] and ours.get("code") == "unsupported":
        return "regexp group outside the accepted subset (refused on purpose)"
    if not ours["ok"] and chrome["ok"] and ours.get("code") == "toobig":
        return "over a documented limit (refused on purpose)"
    if not ours["ok"] and chrome["ok"] and "internationalized domain name" in ours.get("e", ""):
        return "libidn2 (IDNA2008) refuses a host UTS#46 accepts"
    return None


PORT_JUNK = re.compile(r"(^|[^\d]):?(80|443|21)[^\d/?#\"]|\"port\": \"(80|443|21)[^\d\"]")
REPEATED_WILDCARD = re.compile(r"\*\+|\*\*|\(\.\*\)[*+]|:[^\W\d][\w$]*[*+]")


def match_difference(cm, om, cu, ou, pattern):
    """Why test() differs on an input both parse alike, in a documented way, or None."""
    if cm is False and om is True and cu == ou and REPEATED_WILDCARD.search(json.dumps(pattern)):
        return ("Chromium's matcher misses a match of a wildcard repeated by '+' or '*' "
                "before 16 or more code points of fixed text (V8 on the standard's regular "
                "expression finds it)")
    if om == "limit":
        return ("a PCRE2 limit stopped the match: no match (Chromium: %s)"
                % ("no match" if cm is False else "a match, found past our limit"))
    if (cm is False and om is True and cu == ou and cu and cu[4] == "" and
            PORT_JUNK.search(json.dumps(pattern))):
        return ("Chromium keeps a port pattern's default port when non-digits follow it "
                "(\"443{/x}\" stays 443; the standard's port state reads 443 and drops it)")
    if cu == ou and cu and cu[4] == "0":
        return "Chromium's URLPattern.test() reads an input's port 0 as no port"
    return None


# ---------------------------------------------------------------- running both sides

def run_chromium(ndir, cases):
    p = subprocess.run(["node", "urlpattern_oracle.mjs", CHROMIUM], cwd=ndir,
                       input=json.dumps(cases).encode(), capture_output=True, timeout=300)
    if p.returncode != 0:
        return None, "the oracle failed (exit %d): %s" % (p.returncode, p.stderr.decode()[-800:])
    return json.loads(p.stdout), None


def run_ours(cases):
    p = subprocess.run([CASES_BIN], input=json.dumps(cases).encode(), capture_output=True,
                       timeout=300)
    if p.returncode != 0 or p.stderr:
        return None, "urlpattern_cases failed (exit %d): %s" % (p.returncode, p.stderr.decode()[-2000:])
    return json.loads(p.stdout), None


def show(case):
    c = {k: v for k, v in case.items() if k != "cat"}
    return json.dumps(c, ensure_ascii=False)


def retries(cases):
    """Our components of every input as Chromium reads it, where that differs."""
    todo, keys = [], []
    for n, case in enumerate(cases):
        pairs = [(case["u"], case["b"])] if case["k"] == "u" else [tuple(x) for x in case["i"]]
        for k, (inp, base) in enumerate(pairs):
            rt = retry_input(inp, base)
            if rt:
                todo.append({"k": "u", "u": rt[0], "b": base})
                keys.append(((n, k), rt[1]))
    if not todo:
        return {}, None
    res, err = run_ours(todo)
    if res is None:
        return None, err
    return {key: (r["c"] if r["ok"] else None, why) for (key, why), r in zip(keys, res)}, None


def note(st, why):
    st["documented"][why] = st["documented"].get(why, 0) + 1


def compare(cases, chrome, ours, retried):
    cats = ("constructor", "relative", "init", "regexp")
    stats = {c: {"cases": 0, "inputs": 0, "both_refuse": 0, "agree": 0, "documented": {},
                 "bad": []} for c in cats + ("url",)}
    for n, (case, ch, us) in enumerate(zip(cases, chrome, ours)):
        st = stats[case["cat"]]
        st["cases"] += 1
        if case["k"] == "u":
            cu = ch["c"] if ch["ok"] else None
            ou = us["c"] if us["ok"] else None
            if cu == ou:
                st["agree"] += 1
                continue
            why = url_difference(cu, ou, us.get("e"), retried.get((n, 0)), case["u"], case["b"])
            if why:
                note(st, why)
            else:
                st["bad"].append("%s\n    chromium: %s\n    ours:     %s" % (
                    show(case), cu, ou if ou is not None else "failure: %s" % us.get("e")))
            continue
        if not ch["ok"] or not us["ok"]:
            if not ch["ok"] and not us["ok"]:
                st["both_refuse"] += 1
                continue
            why = compile_difference(ch, us)
            if why:
                note(st, why)
            else:
                st["bad"].append("%s\n    chromium: %s\n    ours:     %s" % (
                    show(case), ch.get("e", "accepts"), us.get("e", "accepts")))
            continue
        st["agree"] += 1
        for k, (inp, cm, om, cu, ou) in enumerate(zip(case["i"], ch["m"], us["m"], ch["u"], us["u"])):
            st["inputs"] += 1
            if cm == om:
                continue
            why = match_difference(cm, om, cu, ou, case["p"])
            if not why and cu != ou:
                why = url_difference(cu, ou if isinstance(ou, list) else None,
                                     ou if isinstance(ou, str) else None, retried.get((n, k)),
                                     inp[0], inp[1])
                why = why and "input URL: " + why
            if why:
                note(st, why)
                continue
            st["bad"].append("%s\n    input %s: chromium %s, ours %s\n    input URL chromium: %s\n"
                             "    input URL ours:     %s" % (show(case), json.dumps(inp, ensure_ascii=False),
                                                           cm, om, cu, ou))
    return stats


def report(t, stats, elapsed):
    total_cases = sum(s["cases"] for s in stats.values())
    total_inputs = sum(s["inputs"] for s in stats.values())
    t.diag("%d cases (%d pattern inputs tested), seed %d, scale %g, %.1f s" % (
        total_cases, total_inputs, SEED, SCALE, elapsed))
    for cat, s in stats.items():
        doc = sum(s["documented"].values())
        bad = len(s["bad"])
        if cat == "url":
            line = "url: %d URLs, %d agree, %d documented differences, %d disagreements" % (
                s["cases"], s["agree"], doc, bad)
        else:
            line = ("patterns (%s): %d patterns (%d compiled by both, %d refused by both), "
                    "%d inputs tested, %d documented differences, %d disagreements" % (
                        cat, s["cases"], s["agree"], s["both_refuse"], s["inputs"], doc, bad))
        for why, n in sorted(s["documented"].items()):
            line += "\n  documented: %d x %s" % (n, why)
        t.diag(line)
        t.ok(bad == 0 and s["cases"] > 0, "%s: Chromium and ours agree (%d cases)" % (cat, s["cases"]),
             "\n".join(s["bad"][:40]) + ("\n... and %d more" % (bad - 40) if bad > 40 else ""))


def main():
    t = Tap()
    cats = ("constructor", "relative", "init", "regexp", "url")
    why = None
    ndir = None
    if not os.path.exists(CHROMIUM):
        why = "%s is not installed (apt-get install chromium)" % CHROMIUM
    elif not os.access(CASES_BIN, os.X_OK):
        why = "%s is not built (make check builds it)" % CASES_BIN
    else:
        ndir, why = node_dir(BUILDDIR)
    if why:
        for c in cats:
            t.ok(False, "%s: Chromium and ours agree" % c, why)
        t.done()
    cases = generate(SEED, SCALE)
    start = time.monotonic()
    chrome, err = run_chromium(ndir, cases)
    ours, err2 = run_ours(cases) if chrome is not None else (None, None)
    if chrome is None or ours is None or len(chrome) != len(cases) or len(ours) != len(cases):
        for c in cats:
            t.ok(False, "%s: Chromium and ours agree" % c, err or err2 or "result counts differ")
        t.done()
    retried, err = retries(cases)
    if retried is None:
        for c in cats:
            t.ok(False, "%s: Chromium and ours agree" % c, err)
        t.done()
    report(t, compare(cases, chrome, ours, retried), time.monotonic() - start)
    t.done()


if __name__ == "__main__":
    main()
