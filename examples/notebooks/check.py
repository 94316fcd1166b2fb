#!/usr/bin/python3
"""Check descent's notebooks. System python3 and nbformat only.

    check.py EXECUTED.ipynb...      check notebooks that nbconvert executed
    check.py --check-clean NB...    check committed notebooks: no outputs, no
                                    execution counts, kernel gophernotes,
                                    well-formed metadata "descent.checks"
    check.py --clear NB...          clear outputs and execution counts in place

An executed notebook passes when
  - it is valid nbformat (nbformat.validate: the schema of its version),
  - no output is an error,
  - every image output is a real image: image/png decodes as a PNG (base64,
    signature, chunk CRCs, IHDR with a non-zero size, IDAT inflating to the
    size IHDR implies, IEND) and image/svg+xml parses as XML whose root is an
    <svg> element with content; an empty or null image is an error,
  - every non-empty code cell ran (has an execution count),
  - at least one output is such an image (image/png or image/svg+xml),
  - its last non-empty code cell printed exactly one line
        SUMMARY {"key": number, ...}
    to stdout, and every check in the notebook's metadata
        "descent": {"checks": [{"key": "test_accuracy", "min": 0.9}, ...]}
    holds for that summary (min and max are inclusive bounds).

Exit status: 0 when every notebook passes, 1 otherwise, 2 on bad usage.
"""

import base64
import binascii
import json
import math
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

try:
    import nbformat
except ImportError:  # the caller (run.sh) installs python3-nbformat from Debian
    sys.exit("check.py: python module nbformat is missing: "
             "apt-get install python3-nbformat (and run with the system python3)")

IMAGE_TYPES = ("image/png", "image/svg+xml")
KERNEL = "gophernotes"
SUMMARY_PREFIX = "SUMMARY "


def read(path):
    """The notebook at path, validated against its nbformat schema."""
    with open(path, encoding="utf-8") as f:
        nb = nbformat.read(f, as_version=4)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise ValueError("invalid nbformat: %s" % str(e).split("\n")[0]) from None
    return nb


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
MAX_PNG_PIXELS = 1 << 26


def png_problem(data):
    """Why data (base64 text, as nbformat stores image/png) is not a PNG; None if it is."""
    if not isinstance(data, str) or not data.strip():
        return "empty image/png"
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as e:
        return "image/png is not base64 (%s)" % e
    if not raw.startswith(PNG_SIGNATURE):
        return "image/png does not start with the PNG signature (%d bytes)" % len(raw)
    pos, ihdr, idat, end = len(PNG_SIGNATURE), None, [], False
    while pos < len(raw):
        if pos + 8 > len(raw):
            return "image/png: truncated chunk header at byte %d" % pos
        n, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        body = raw[pos + 8:pos + 8 + n]
        if len(body) != n or pos + 12 + n > len(raw):
            return "image/png: chunk %r at byte %d runs past the end" % (kind, pos)
        crc, = struct.unpack(">I", raw[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) != crc:
            return "image/png: chunk %r at byte %d has a bad CRC" % (kind, pos)
        if ihdr is None and kind != b"IHDR":
            return "image/png: first chunk is %r, not IHDR" % kind
        if kind == b"IHDR":
            if n != 13:
                return "image/png: IHDR of %d bytes" % n
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            end = True
            break
        pos += 12 + n
    if ihdr is None or not end:
        return "image/png: no %s chunk" % ("IHDR" if ihdr is None else "IEND")
    width, height, depth, colour, _, _, interlace = ihdr
    if width == 0 or height == 0:
        return "image/png is %d x %d pixels" % (width, height)
    if colour not in PNG_CHANNELS or depth not in (1, 2, 4, 8, 16) or interlace not in (0, 1):
        return "image/png: unsupported IHDR (depth %d, colour type %d)" % (depth, colour)
    if width * height > MAX_PNG_PIXELS:
        return "image/png is %d x %d pixels, more than a notebook shows" % (width, height)
    try:
        pixels = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        return "image/png: image data does not inflate (%s)" % e
    bits = PNG_CHANNELS[colour] * depth
    if interlace == 0:
        want = height * (1 + (width * bits + 7) // 8)
    else:  # Adam7: seven reduced images, each row with its filter byte
        want = 0
        for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                               (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
            w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
            if w and h:
                want += h * (1 + (w * bits + 7) // 8)
    if len(pixels) != want:
        return "image/png: %d bytes of image data, %d x %d pixels need %d" % (
            len(pixels), width, height, want)
    return None


def svg_problem(data):
    """Why data (nbformat's image/svg+xml: text or a list of lines) is not an SVG; None if it is."""
    if isinstance(data, list) and all(isinstance(l, str) for l in data):
        data = "".join(data)
    if not isinstance(data, str) or not data.strip():
        return "empty image/svg+xml"
    try:
        root = ET.fromstring(data.encode("utf-8"))
    except ET.ParseError as e:
        return "image/svg+xml is not XML (%s)" % e
    if root.tag.rsplit("}", 1)[-1] != "svg":
        return "image/svg+xml: root element is <%s>, not <svg>" % root.tag
    if len(root) == 0:
        return "image/svg+xml: the <svg> element is empty"
    return None


IMAGE_PROBLEM = {"image/png": png_problem, "image/svg+xml": svg_problem}


def source(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else s


def code_cells(nb):
    return [c for c in nb.cells if c.get("cell_type") == "code"]


def text_of(output):
    t = output.get("text", "")
    return "".join(t) if isinstance(t, list) else t


def check_spec(nb):
    """Problems with the notebook's metadata "descent.checks"; returns (checks, problems)."""
    problems = []
    meta = nb.metadata.get("descent")
    if not isinstance(meta, dict) or "checks" not in meta:
        return [], ['metadata has no "descent": {"checks": [...]} '
                    '(each notebook states what its SUMMARY line must satisfy)']
    checks = meta["checks"]
    if not isinstance(checks, list) or not checks:
        return [], ['metadata "descent.checks" must be a non-empty list']
    for i, c in enumerate(checks):
        where = 'metadata "descent.checks"[%d]' % i
        if not isinstance(c, dict) or not isinstance(c.get("key"), str) or not c["key"]:
            problems.append('%s: needs a string "key"' % where)
            continue
        unknown = sorted(set(c) - {"key", "min", "max"})
        if unknown:
            problems.append("%s (%s): unknown fields %s (allowed: key, min, max)"
                            % (where, c["key"], ", ".join(unknown)))
        if "min" not in c and "max" not in c:
            problems.append('%s (%s): needs "min" or "max"' % (where, c["key"]))
        for bound in ("min", "max"):
            if bound in c and not is_number(c[bound]):
                problems.append("%s (%s): %s must be a number, got %r"
                                % (where, c["key"], bound, c[bound]))
    return checks, problems


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def summary_of(nb):
    """The parsed SUMMARY json of the last non-empty code cell; (summary, problem)."""
    cells = [c for c in code_cells(nb) if source(c).strip()]
    if not cells:
        return None, "the notebook has no code cell"
    last = cells[-1]
    lines = []
    for out in last.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            lines += [l for l in text_of(out).splitlines() if l.startswith(SUMMARY_PREFIX)]
    if len(lines) != 1:
        return None, ("the last code cell must print exactly one line "
                      "'SUMMARY {json}' to stdout; it printed %d" % len(lines))
    raw = lines[0][len(SUMMARY_PREFIX):]
    try:
        summary = json.loads(raw)
    except ValueError as e:
        return None, "SUMMARY is not valid json (%s): %s" % (e, raw)
    if not isinstance(summary, dict):
        return None, "SUMMARY must be a json object, got: %s" % raw
    return summary, None


def check_executed(path):
    nb = read(path)
    problems = []
    images = 0
    for i, cell in enumerate(code_cells(nb)):
        label = "code cell %d" % (i + 1)
        if source(cell).strip() and cell.get("execution_count") is None:
            problems.append("%s did not run (no execution count)" % label)
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                problems.append("%s: error output: %s: %s\n%s" % (
                    label, out.get("ename", ""), out.get("evalue", ""),
                    "\n".join(out.get("traceback", []))))
            if kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                shown = [t for t in IMAGE_TYPES if t in data]
                bad = [p for p in (IMAGE_PROBLEM[t](data[t]) for t in shown) if p]
                for p in bad:
                    problems.append("%s: %s" % (label, p))
                if shown and not bad:
                    images += 1
    if images == 0:
        problems.append("no image output (%s): a notebook shows at least one plot"
                        % " or ".join(IMAGE_TYPES))

    checks, spec_problems = check_spec(nb)
    problems += spec_problems
    summary, problem = summary_of(nb)
    if problem:
        problems.append(problem)
    elif not spec_problems:
        for c in checks:
            key = c["key"]
            if key not in summary:
                problems.append("check %s: SUMMARY has no key %r (it has: %s)"
                                % (key, key, ", ".join(sorted(summary)) or "nothing"))
                continue
            v = summary[key]
            if not is_number(v):
                problems.append("check %s: SUMMARY value %r is not a finite number" % (key, v))
                continue
            if "min" in c and v < c["min"]:
                problems.append("check %s >= %s FAILED: got %s" % (key, c["min"], v))
            if "max" in c and v > c["max"]:
                problems.append("check %s <= %s FAILED: got %s" % (key, c["max"], v))
    return problems, summary


def import_time(path):
    """ " import cell 12.3s": how long the first code cell (the imports) took, from the
    timestamps nbclient records in the cell's metadata; "" when they are missing."""
    import datetime
    try:
        cells = code_cells(read(path))
        t = cells[0].metadata["execution"]
        def at(key):
            return datetime.datetime.fromisoformat(t[key].replace("Z", "+00:00"))
        return " import cell %.1fs," % (at("shell.execute_reply") - at("iopub.execute_input")).total_seconds()
    except (IndexError, KeyError, ValueError, AttributeError, TypeError):
        return ""


def check_clean(path):
    nb = read(path)
    problems = []
    for i, cell in enumerate(code_cells(nb)):
        if cell.get("outputs"):
            problems.append("code cell %d has outputs" % (i + 1))
        if cell.get("execution_count") is not None:
            problems.append("code cell %d has an execution count" % (i + 1))
    name = nb.metadata.get("kernelspec", {}).get("name")
    if name != KERNEL:
        problems.append("kernelspec name is %r, want %r" % (name, KERNEL))
    problems += check_spec(nb)[1]
    return problems


def clear(path):
    nb = read(path)
    changed = False
    for cell in code_cells(nb):
        if cell.get("outputs") or cell.get("execution_count") is not None:
            changed = True
        cell["outputs"] = []
        cell["execution_count"] = None
        for k in ("execution", "collapsed", "scrolled"):
            if cell.metadata.pop(k, None) is not None:
                changed = True
    for k in ("widgets",):
        if nb.metadata.pop(k, None) is not None:
            changed = True
    if changed:
        with open(path, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
    return changed


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    mode = "executed"
    if argv[0] in ("--check-clean", "--clear"):
        mode, argv = argv[0][2:], argv[1:]
    if not argv:
        print("check.py: no notebook given", file=sys.stderr)
        return 2
    failed = 0
    for path in argv:
        try:
            if mode == "clear":
                print("%s: %s" % (path, "cleared" if clear(path) else "already clean"))
                continue
            if mode == "check-clean":
                problems, summary = check_clean(path), None
            else:
                problems, summary = check_executed(path)
        except (OSError, ValueError, nbformat.reader.NotJSONError) as e:
            problems, summary = ["cannot read notebook: %s" % e], None
        if problems:
            failed += 1
            print("FAIL %s" % path)
            for p in problems:
                print("  - " + p.replace("\n", "\n    "))
        else:
            extra = " SUMMARY " + json.dumps(summary, sort_keys=True) if summary else ""
            if mode == "executed":
                extra = import_time(path) + extra
            print("ok   %s%s" % (path, extra))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
