#!/usr/bin/python3
"""uritemplate_diff.py -- the URI-template matcher against python3-uritemplate's expansions (TAP)

Generates templates (every operator, explode and prefix modifiers, several variables,
literals ASCII and not) and values (undefined, strings with reserved, non-ASCII and "%"
characters, lists, associative arrays), expands them with Debian's python3-uritemplate
(an independent RFC 6570 implementation), and asks ut_match (built from
src/mercure/uritemplate.c) whether each expansion matches its template: every one must.
Then mutations that no expansion can be: a character the template's expressions never
write, injected anywhere (a space, '"', '<', '|', a raw non-ASCII character...); "%"
followed by a non-hex character; or one more '/', ';', '?', '&' or '=' than the template
can ever write. None may match (a PCRE2 limit reached counts as no match, as the draft
says; how many is reported). Also RFC 6570's own examples (section 3.2's variables).

Run by make check (ut_match found in $abs_top_builddir) or by hand:
    /usr/bin/python3 tests/unit/mercure/uritemplate_diff.py [path/to/ut_match]
Seed: UT_DIFF_SEED (default 6570); cases: UT_DIFF_N templates (default 1500).
python3-uritemplate is Debian's, for Debian's python3: another python3 first in PATH is
left for /usr/bin/python3.
"""
import os
import random
import subprocess
import sys

try:
    import uritemplate
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("1..0 # SKIP python3-uritemplate is not installed (apt-get install python3-uritemplate)")
    sys.exit(0)

UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
RESERVED = set(":/?#[]@!$&'()*+,;=")
OPS = ["", "+", "#", ".", "/", ";", "?", "&"]
NAMES = ["x", "y", "var", "who", "a.b", "_z", "x%41", "list", "k9"]
LITERALS = ["https://example.com/", "books", "/", "-", ".", "x", "é", "~", "!", "=", "a%20b",
            "?q=1", "&", "(", ")", "*", "$", ",", ";", ":", "@", "[", "]", "€", "😀"]
CHARS = list("abcXYZ019-._~") + list(":/?#[]@!$&'()*+,;=") + [" ", "%", "%2F", "é", "€",
                                                              "😀", "\"", "<", "|", "\\", "^"]
INJECT = [" ", "\"", "<", ">", "\\", "^", "`", "{", "|", "}", "é", "€", "😀", "\x7f"]


class Tmpl:
    def __init__(self, rnd):
        self.parts = []   # ("lit", text) or ("expr", op, [(name, explode, prefix)])
        for _ in range(rnd.randint(1, 4)):
            if rnd.random() < 0.45:
                self.parts.append(("lit", "".join(rnd.choice(LITERALS)
                                                   for _ in range(rnd.randint(1, 3)))))
            else:
                op = rnd.choice(OPS)
                names = rnd.sample(NAMES, rnd.randint(1, 4))
                vs = []
                for n in names:
                    m = rnd.random()
                    vs.append((n, m < 0.3, rnd.randint(1, 12) if 0.3 <= m < 0.5 else None))
                self.parts.append(("expr", op, vs))

    def text(self):
        out = []
        for p in self.parts:
            if p[0] == "lit":
                out.append(p[1])
            else:
                specs = [n + ("*" if e else "") + (":%d" % pr if pr else "") for n, e, pr in p[2]]
                out.append("{" + p[1] + ",".join(specs) + "}")
        return "".join(out)

    def exprs(self):
        return [p for p in self.parts if p[0] == "expr"]

    def literal_text(self):
        return "".join(p[1] for p in self.parts if p[0] == "lit")

    def producible(self):
        """Characters some expansion of an expression may write."""
        s = set()
        for _, op, vs in self.exprs():
            s |= UNRESERVED | {"%", ","}
            if op in ("+", "#"):
                s |= RESERVED
            if op:
                s.add(op)
            s |= {"=", "&"} if op in ("?", "&", ";", "") else {"="}
            if op in ("/", ";", "."):
                s.add(op)
        return s

    def max_count(self, c):
        """How many c an expansion can hold at most (None: no bound)."""
        n = self.literal_text().count(c)
        for _, op, vs in self.exprs():
            k, explode = len(vs), any(e for _, e, _ in vs)
            if op in ("+", "#"):
                return None
            contrib = {"/": {"/": k}, ";": {";": k, "=": k}, "?": {"?": 1, "&": k - 1, "=": k},
                       "&": {"&": k, "=": k}}.get(op, {})
            if explode and (c in contrib or c == "="):
                return None
            n += contrib.get(c, 0)
        return n


def value(rnd, prefix):
    r = rnd.random()
    word = lambda: "".join(rnd.choice(CHARS) for _ in range(rnd.randint(0, 5)))
    if r < 0.15:
        return None
    if r < 0.6 or prefix:
        return word()
    if r < 0.8:
        return [word() for _ in range(rnd.randint(0, 3))]
    return {word() or "k": word() for _ in range(rnd.randint(0, 3))}


def values(rnd, t):
    """Values of the template's variables; a name with a prefix anywhere gets a string (a
    prefix on a list is an expansion error in RFC 6570)."""
    prefixed = {n for _, _, vs in t.exprs() for n, _, pr in vs if pr}
    v = {}
    for _, _, vs in t.exprs():
        for n, _, _ in vs:
            val = value(rnd, n in prefixed)
            if val is not None:
                v[n] = val
    return v


def rfc_cases():
    """RFC 6570 section 3.2's variables and (most of) its templates."""
    v = {"count": ["one", "two", "three"], "dom": ["example", "com"], "dub": "me/too",
         "hello": "Hello World!", "half": "50%", "var": "value", "who": "fred",
         "base": "http://example.com/home/", "path": "/foo/bar", "list": ["red", "green", "blue"],
         "keys": {"semi": ";", "dot": ".", "comma": ","}, "v": "6", "x": "1024", "y": "768",
         "empty": "", "empty_keys": {}}
    ts = ["{count}", "{count*}", "{/count}", "{/count*}", "{;count}", "{;count*}", "{?count}",
          "{?count*}", "{&count*}", "{var}", "{hello}", "{half}", "O{empty}X", "O{undef}X",
          "{x,y}", "{x,hello,y}", "?{x,empty}", "?{x,undef}", "?{undef,y}", "{var:3}",
          "{var:30}", "{list}", "{list*}", "{keys}", "{keys*}", "{+var}", "{+hello}", "{+half}",
          "{base}index", "{+base}index", "O{+empty}X", "O{+undef}X", "{+path}/here",
          "here?ref={+path}", "up{+path}{var}/here", "{+x,hello,y}", "{+path,x}/here",
          "{+path:6}/here", "{+list}", "{+list*}", "{+keys}", "{+keys*}", "{#var}", "{#hello}",
          "{#half}", "foo{#empty}", "foo{#undef}", "{#x,hello,y}", "{#path,x}/here",
          "{#path:6}/here", "{#list}", "{#list*}", "{#keys}", "{#keys*}", "{.who}", "{.who,who}",
          "{.half,who}", "www{.dom*}", "X{.var}", "X{.empty}", "X{.undef}", "X{.var:3}",
          "X{.list}", "X{.list*}", "X{.keys}", "X{.keys*}", "X{.empty_keys}", "X{.empty_keys*}",
          "{/who}", "{/who,who}", "{/half,who}", "{/who,dub}", "{/var}", "{/var,empty}",
          "{/var,undef}", "{/var,x}/here", "{/var:1,var}", "{/list}", "{/list*}",
          "{/list*,path:4}", "{/keys}", "{/keys*}", "{;who}", "{;half}", "{;empty}",
          "{;v,empty,who}", "{;v,bar,who}", "{;x,y}", "{;x,y,empty}", "{;x,y,undef}",
          "{;hello:5}", "{;list}", "{;list*}", "{;keys}", "{;keys*}", "{?who}", "{?half}",
          "{?x,y}", "{?x,y,empty}", "{?x,y,undef}", "{?var:3}", "{?list}", "{?list*}",
          "{?keys}", "{?keys*}", "{&who}", "{&half}", "?fixed=yes{&x}", "{&x,y,empty}",
          "{&var:3}", "{&list}", "{&list*}", "{&keys}", "{&keys*}"]
    return [(t, uritemplate.URITemplate(t).expand(v)) for t in ts]


def main():
    here = os.environ.get("abs_top_builddir", ".")
    tool = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "tests/unit/mercure/ut_match")
    seed = int(os.environ.get("UT_DIFF_SEED", "6570"))
    n = int(os.environ.get("UT_DIFF_N", "1500"))
    rnd = random.Random(seed)
    pos, neg = [], []   # (template, string, why)
    for t, s in rfc_cases():
        pos.append((t, s, "RFC 6570 3.2"))
    for _ in range(n):
        t = Tmpl(rnd)
        text = t.text()
        prod = t.producible()
        lits = set(t.literal_text())
        for _ in range(3):
            s = uritemplate.URITemplate(text).expand(values(rnd, t))
            pos.append((text, s, "expansion"))
            at = rnd.randint(0, len(s))
            c = rnd.choice([c for c in INJECT if c not in prod and c not in lits])
            neg.append((text, s[:at] + c + s[at:], "injected %r" % c))
            neg.append((text, s[:at] + "%" + rnd.choice("gGzZ%/") + s[at:], "%% not a triplet"))
            for c in "/;?&=":
                m = t.max_count(c)
                if m is not None and s.count(c) == m and c not in lits | {"="} | ({"?"} if "?" in text else set()):
                    neg.append((text, s[:at] + c + s[at:], "one %r too many" % c))
                elif m is not None and s.count(c) == m and c in "/;":
                    neg.append((text, s[:at] + c + s[at:], "one %r too many" % c))
    lines = [t + "\t" + s for t, s, _ in pos + neg]
    for t, s, _ in pos + neg:
        if "\t" in t + s or "\n" in t + s:
            raise SystemExit("a generated case holds a tab or line end: " + repr((t, s)))
    out = subprocess.run([tool], input="\n".join(lines) + "\n", capture_output=True, text=True,
                         check=True).stdout.split("\n")
    res_pos, res_neg = out[:len(pos)], out[len(pos):len(pos) + len(neg)]
    bad_pos = [(c, r) for c, r in zip(pos, res_pos) if r != "1"]
    # A PCRE2 limit (L) is "treated as not matching" (the draft's words): right for these,
    # and counted, since each costs the whole limit.
    bad_neg = [(c, r) for c, r in zip(neg, res_neg) if r not in ("0", "L")]
    limited = sum(r == "L" for r in res_neg)
    rfc = [(c, r) for c, r in zip(pos, res_pos) if c[2] == "RFC 6570 3.2"]
    tap = 0

    def ok(cond, name, bad):
        nonlocal tap
        tap += 1
        print("%sok %d - %s" % ("" if cond else "not ", tap, name))
        for (t, s, why), r in bad[:15]:
            print("#   %s: template %r, string %r -> %r" % (why, t, s, r))

    ok(all(r == "1" for _, r in rfc), "RFC 6570 3.2's examples (%d), expanded by python3-uritemplate, "
       "all match" % len(rfc), [x for x in rfc if x[1] != "1"])
    ok(not bad_pos, "%d expansions of %d generated templates (seed %d) all match"
       % (len(pos) - len(rfc), n, seed), bad_pos)
    ok(not bad_neg, "%d mutations that no expansion can be: none matches (%d stopped by the "
       "match limit)" % (len(neg), limited), bad_neg)
    print("1..%d" % tap)
    return 0 if not bad_pos and not bad_neg else 1


if __name__ == "__main__":
    sys.exit(main())
