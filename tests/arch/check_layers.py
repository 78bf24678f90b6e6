"""The dependency rule of docs/architecture.md: a module may include the public headers of modules on a lower
layer, and its own, never those of its own layer or above, nor another module's internal header; hdf5.h,
slepceps.h and cJSON only where the table says. The layer table is read from docs/architecture.md itself,
so the documentation is the rule. Every module folder under src/ and every public header must be in it."""
import os
import re
import sys

src_root = os.environ.get("MC_SRC") or os.path.join(os.path.dirname(__file__), "..", "..")
doc = open(os.path.join(src_root, "docs", "architecture.md")).read()

layer, owner = {}, {}
for m in re.finditer(r"^\| (\d+) \| (\w+) \| ([\w. ]+\.h) \|", doc, re.M):
    mod = m.group(2)
    layer[mod] = int(m.group(1))
    for h in m.group(3).split():
        owner[h[:-2]] = mod
problems = []
if len(layer) < 10:
    problems.append("docs/architecture.md: the module table was not found (%d rows)" % len(layer))

# Libraries with owners: header pattern -> modules allowed to include it.
LIBS = [(r"hdf5\.h", {"io"}), (r"slepceps\.h", {"spectral"}), (r"cjson/", {"io", "report"})]

folders = sorted(d for d in os.listdir(os.path.join(src_root, "src")) if os.path.isdir(os.path.join(src_root, "src", d)))
for d in folders:
    if d not in layer:
        problems.append("src/%s/ is not in the module table of docs/architecture.md" % d)
for h in sorted(os.listdir(os.path.join(src_root, "include", "mc"))):
    if h != "mc.h" and h[:-2] not in owner:
        problems.append("include/mc/%s has no owner in the module table of docs/architecture.md" % h)


def check(path, mod, rel):
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        m = re.match(r'\s*#\s*include\s*[<"]([^>"]+)[>"]', line)
        if not m:
            continue
        inc = m.group(1)
        where = "%s:%d" % (rel, n)
        hm = re.fullmatch(r"mc/(\w+)\.h", inc)
        if hm:
            h = hm.group(1)
            if h == "mc":
                problems.append("%s: mc.h is for executables and tests; include the headers the module needs" % where)
            elif h not in owner:
                problems.append("%s: mc/%s.h has no owner" % (where, h))
            elif owner[h] != mod and layer.get(owner[h], 99) >= layer.get(mod, -1):
                problems.append("%s: %s (layer %d) includes mc/%s.h of %s (layer %d); only lower layers may be included"
                                % (where, mod, layer[mod], h, owner[h], layer[owner[h]]))
        elif inc.startswith("../") or re.match(r"\w+/\w+_impl\.h$", inc):
            target = os.path.normpath(os.path.join(os.path.dirname(path), inc)) if inc.startswith("../") else os.path.join(src_root, "src", inc)
            tmod = os.path.relpath(target, os.path.join(src_root, "src")).split(os.sep)[0]
            if tmod != mod:
                problems.append("%s: includes %s, an internal file of src/%s/" % (where, inc, tmod))
        for pat, allowed in LIBS:
            if re.match(pat, inc) and mod not in allowed:
                problems.append("%s: <%s> belongs to %s only" % (where, inc, ", ".join(sorted(allowed))))


n_files = 0
for d in folders:
    for f in sorted(os.listdir(os.path.join(src_root, "src", d))):
        if f.endswith((".c", ".h", ".def")):
            check(os.path.join(src_root, "src", d, f), d, "src/%s/%s" % (d, f))
            n_files += 1
for h in sorted(os.listdir(os.path.join(src_root, "include", "mc"))):
    if h != "mc.h" and h[:-2] in owner:
        check(os.path.join(src_root, "include", "mc", h), owner[h[:-2]], "include/mc/" + h)
        n_files += 1

if problems:
    print("\n".join(problems))
    sys.exit(1)
print("dependency rule holds: %d modules on %d layers, %d files checked" % (len(layer), len(set(layer.values())), n_files))
