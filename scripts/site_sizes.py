"""Sizes of the browser bundle after `make site`: each wasm module and each route's first load.

    python3 scripts/site_sizes.py target/site/pkg pairwise [--json OUT] [--check]

A route's first load is the main module plus the chunks of the lazily loaded part its page
belongs to (read from `app::lazy_parts!` and the routes in app/src/lib.rs, and from the split
manifest that pairwise-wasm-split wrote). Sizes are gzip -9, as a server compressing the
response would send them. `--check` exits 1 when a goal of issue #15 is not met: /login and
/annotate under 250 KB gzip of wasm, every route under 500 KB.
"""

import argparse
import gzip
import json
import re
import sys
from pathlib import Path

APP_LIB = Path(__file__).resolve().parent.parent / "app" / "src" / "lib.rs"
SMALL_ROUTES = ("/login", "/annotate")
SMALL_GOAL = 250_000
ROUTE_GOAL = 500_000


def gzip_size(path):
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def routes_and_parts(source):
    """(route path, part or None) for every route, in the order the router lists them."""
    route_part = {}
    part = None
    block = source[source.index("lazy_parts! {") :]
    for line in block.splitlines()[1:]:
        if line.startswith("}"):
            break
        header = re.match(r"\s*(\w+) \(\w+\): \w+ \{", line)
        if header:
            part = header.group(1)
            continue
        page = re.match(r"\s*\w+ => (\w+),", line)
        if page:
            route_part[page.group(1)] = part
    routes = []
    for path, view in re.findall(r'<Route path=path!\("([^"]*)"\) view=(\{[^}]*\}|\w+)', source):
        lazy = re.search(r"Lazy::<(\w+)>", view)
        if lazy and lazy.group(1) not in route_part:
            sys.exit(f"site_sizes: route {path}: {lazy.group(1)} is in no part of lazy_parts!")
        routes.append((path, route_part[lazy.group(1)] if lazy else None))
    return routes


def measure(pkg, name):
    main = pkg / f"{name}_bg.wasm"
    manifest = json.loads((pkg / "__wasm_split_manifest.json").read_text())
    modules = {p.name: {"bytes": p.stat().st_size, "gzip": gzip_size(p)} for p in sorted(pkg.glob("*.wasm"))}
    js = {p.name: {"bytes": p.stat().st_size, "gzip": gzip_size(p)} for p in sorted(pkg.glob("*.js"))}
    routes = {}
    for path, part in routes_and_parts(APP_LIB.read_text()):
        files = [main.name]
        if part is not None:
            keys = [k for k in manifest if k == part or re.fullmatch(re.escape(part) + r"_\d+", k)]
            if len(keys) != 1:
                sys.exit(f"site_sizes: part {part}: {len(keys)} entries in the split manifest")
            files += [f"{stem}.wasm" for stem in manifest[keys[0]]]
        missing = [f for f in files if f not in modules]
        if missing:
            sys.exit(f"site_sizes: route {path}: missing modules {missing}")
        routes[path] = {
            "part": part,
            "modules": len(files),
            "bytes": sum(modules[f]["bytes"] for f in files),
            "gzip": sum(modules[f]["gzip"] for f in files),
        }
    return {
        "main_module": main.name,
        "modules": modules,
        "js": js,
        "total_wasm_gzip": sum(m["gzip"] for m in modules.values()),
        "routes": routes,
        "largest_route_gzip": max(r["gzip"] for r in routes.values()),
        "goals": {
            "login_and_annotate_under_gzip": SMALL_GOAL,
            "every_route_under_gzip": ROUTE_GOAL,
            "met_small": all(routes[r]["gzip"] < SMALL_GOAL for r in SMALL_ROUTES),
            "met_every_route": all(r["gzip"] < ROUTE_GOAL for r in routes.values()),
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pkg", type=Path)
    parser.add_argument("name")
    parser.add_argument("--json", type=Path, help="also write the sizes as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a size goal is not met")
    args = parser.parse_args()
    sizes = measure(args.pkg, args.name)

    modules = sizes["modules"]
    main_gzip = modules[sizes["main_module"]]["gzip"]
    print(f"wasm modules: {len(modules)}, {sizes['total_wasm_gzip']:,} bytes gzip in all")
    print(f"  {sizes['main_module']:<48} {modules[sizes['main_module']]['bytes']:>10,} {main_gzip:>10,} gzip")
    for name, size in sorted(modules.items(), key=lambda kv: -kv[1]["gzip"]):
        if name != sizes["main_module"]:
            print(f"  {name:<48} {size['bytes']:>10,} {size['gzip']:>10,} gzip")
    print("first load per route (main module + the route's part):")
    for path, route in sizes["routes"].items():
        goal = SMALL_GOAL if path in SMALL_ROUTES else ROUTE_GOAL
        flag = "" if route["gzip"] < goal else f"  over the {goal // 1000} KB goal"
        part = route["part"] or "main"
        print(f"  {path:<34} {part:<18} {route['modules']:>3} modules {route['gzip']:>10,} gzip{flag}")
    if args.json:
        args.json.write_text(json.dumps(sizes, indent=2) + "\n")
    goals = sizes["goals"]
    if args.check and not (goals["met_small"] and goals["met_every_route"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
