"""Copy the served files of the front ends' npm packages into ``web/dist/vendor/``.

The browser pages (the leaders' dashboard, the inspectors' phone app, the console and the API docs) load
their libraries from the API itself: the bureau's intranet has no internet, so nothing comes from a CDN.
``web/vendor.json`` names, per npm package, the files that are served; this script copies exactly those from
``node_modules`` (installed by ``npm ci`` from the lock file) and writes ``manifest.json`` with each file's
package version, size and SHA-256, which the phone app's service worker uses as its list of files to keep.

Run by ``make serve`` and ``make test`` (``python3 web/build.py``); stdlib only, so it runs before the venv.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

WEB = Path(__file__).resolve().parent
ROOT = WEB.parent


def build(node_modules: Path = ROOT / "node_modules", out: Path = WEB / "dist" / "vendor") -> dict:
    wanted = {k: v for k, v in json.loads((WEB / "vendor.json").read_text()).items() if not k.startswith("_")}
    staging = out.with_name(out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    manifest: dict[str, dict] = {}
    for package, files in sorted(wanted.items()):
        source = node_modules / package
        package_json = source / "package.json"
        if not package_json.is_file():
            raise SystemExit(f"web/build.py: npm package {package!r} is not installed (run npm ci)")
        version = json.loads(package_json.read_text())["version"]
        entry: dict[str, dict] = {}
        for relative in files:
            src = source / relative
            if not src.is_file():
                raise SystemExit(f"web/build.py: {package} {version} has no file {relative!r}")
            dest = staging / package / Path(relative).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            data = dest.read_bytes()
            entry[dest.name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        manifest[package] = {"version": version, "files": entry}
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return manifest


if __name__ == "__main__":
    result = build()
    total = sum(f["bytes"] for p in result.values() for f in p["files"].values())
    print(f"web/dist/vendor: {len(result)} packages, {total / 1e6:.1f} MB", file=sys.stderr)
