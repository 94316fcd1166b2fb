#!/usr/bin/python3
"""check.py's own tests: it passes a good executed notebook and fails broken ones.

    /usr/bin/python3 examples/notebooks/test_check.py

Each case writes a notebook, runs check.py on it as run.sh does (a child
process) and checks the exit status and the reason printed. System python3
with python3-nbformat; no kernel needed.
"""

import base64
import copy
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check.py")


def png(width, height, rows=None):
    """A grey PNG of width x height, built by hand (no imaging library)."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    if rows is None:
        rows = b"".join(b"\x00" + bytes((x * 7) % 256 for x in range(width)) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def b64(data):
    return base64.b64encode(data).decode("ascii")


SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>'


def notebook(image_data, summary='SUMMARY {"acc": 0.97}\n'):
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "gophernotes", "display_name": "Go", "language": "go"},
            "language_info": {"name": "go"},
            "descent": {"checks": [{"key": "acc", "min": 0.9}]},
        },
        "cells": [
            {"id": "plot", "cell_type": "code", "execution_count": 1, "metadata": {},
             "source": "trainers.Plot{...}",
             "outputs": [{"output_type": "execute_result", "execution_count": 1,
                          "metadata": {}, "data": image_data}]},
            {"id": "summary", "cell_type": "code", "execution_count": 2, "metadata": {},
             "source": "fmt.Printf(...)",
             "outputs": [{"output_type": "stream", "name": "stdout", "text": summary}]},
        ],
    }


class CheckExecuted(unittest.TestCase):
    def run_check(self, nb, *args):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "nb.ipynb")
            with open(path, "w", encoding="utf-8") as f:
                f.write(nb if isinstance(nb, str) else json.dumps(nb))
            p = subprocess.run([sys.executable, CHECK] + list(args) + [path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            return p.returncode, p.stdout

    def assert_fails(self, nb, reason, *args):
        code, out = self.run_check(nb, *args)
        self.assertEqual(code, 1, "check.py passed a broken notebook:\n" + out)
        self.assertIn(reason, out)

    def test_good_png_and_svg_pass(self):
        for data in ({"image/png": b64(png(12, 7))}, {"image/svg+xml": SVG},
                     {"image/svg+xml": SVG.replace("><", ">\n<").splitlines(True)},
                     {"image/png": b64(png(3, 2)), "image/svg+xml": SVG, "text/plain": "Plot"}):
            code, out = self.run_check(notebook(data))
            self.assertEqual(code, 0, out)
            self.assertIn('SUMMARY {"acc": 0.97}', out)

    def test_empty_plot_output_is_invalid_nbformat(self):
        # What a Plot that cannot be drawn showed: PNG() nil, SVG() "".
        self.assert_fails(notebook({"image/png": None, "image/svg+xml": []}), "invalid nbformat")

    def test_empty_images(self):
        self.assert_fails(notebook({"image/svg+xml": []}), "empty image/svg+xml")
        self.assert_fails(notebook({"image/svg+xml": ""}), "empty image/svg+xml")
        self.assert_fails(notebook({"image/png": ""}), "empty image/png")

    def test_broken_png(self):
        good = png(8, 4)
        bad_crc = bytearray(good)
        bad_crc[-20] ^= 0xFF  # inside IDAT
        cases = {
            "not base64": "@@@@",
            "signature": b64(b"GIF89a" + good[6:]),
            "bad CRC": b64(bytes(bad_crc)),
            "0 x 4 pixels": b64(png(0, 4, rows=b"")),
            "no IEND": b64(good[:-12]),
            "bytes of image data": b64(png(8, 4, rows=b"\x00" * 9)),  # too few rows
        }
        for reason, data in cases.items():
            with self.subTest(reason):
                self.assert_fails(notebook({"image/png": data}), reason)

    def test_broken_svg(self):
        self.assert_fails(notebook({"image/svg+xml": "<svg"}), "not XML")
        self.assert_fails(notebook({"image/svg+xml": "<html><p/></html>"}), "not <svg>")
        self.assert_fails(notebook({"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"/>'}),
                          "<svg> element is empty")

    def test_one_good_image_does_not_hide_a_broken_one(self):
        nb = notebook({"image/png": b64(png(4, 4))})
        nb["cells"].insert(1, copy.deepcopy(nb["cells"][0]))
        nb["cells"][1]["id"] = "plot2"
        nb["cells"][1]["outputs"][0]["data"] = {"image/svg+xml": []}
        self.assert_fails(nb, "code cell 2: empty image/svg+xml")

    def test_invalid_nbformat(self):
        nb = notebook({"image/png": b64(png(4, 4))})
        nb["cells"][0]["outputs"][0]["output_type"] = "picture"
        self.assert_fails(nb, "invalid nbformat")
        nb = notebook({"image/png": b64(png(4, 4))})
        del nb["cells"][1]["outputs"]
        self.assert_fails(nb, "invalid nbformat")
        self.assert_fails('{"cells": [', "cannot read notebook")

    def test_check_clean_validates_too(self):
        nb = notebook({})
        for c in nb["cells"]:
            c["outputs"], c["execution_count"] = [], None
        code, out = self.run_check(nb, "--check-clean")
        self.assertEqual(code, 0, out)
        nb["cells"][0]["cell_type"] = "program"
        self.assert_fails(nb, "invalid nbformat", "--check-clean")

    def test_summary_checks_still_apply(self):
        self.assert_fails(notebook({"image/png": b64(png(4, 4))}, 'SUMMARY {"acc": 0.5}\n'),
                          "check acc >= 0.9 FAILED: got 0.5")


if __name__ == "__main__":
    unittest.main(verbosity=2)
