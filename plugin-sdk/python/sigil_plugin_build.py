"""Build a Python claim provider into a WebAssembly component.

    sigil-plugin-build app --out dist/my-plugin/my-plugin.wasm [--path src]

``app`` is the module that holds the ``@claim_provider`` function; ``--path``
(repeatable, default ``.``) is where it and its pure-Python dependencies are.
The component embeds CPython and the standard library (about 18 MB); Sigil
compiles it once at load and caches the machine code (see plugin-sdk/README.md).
"""

import argparse
import sys
import tempfile
from pathlib import Path

WORLD = "claim-provider-http"
ENTRY = "sigil_plugin_entry"


def wit_dir() -> Path:
    """The WIT the component is built against (shipped with the SDK)."""
    return Path(__file__).resolve().parent / "sigil_plugin" / "wit"


def componentize(module: str, out: Path, paths: list) -> None:
    """Run componentize-py on an entry module that imports ``module`` and
    exports the SDK's glue."""
    try:
        from componentize_py import script
    except ImportError:
        sys.exit("componentize-py is not installed: pip install 'componentize-py==0.25.1'")
    sdk_root = Path(__file__).resolve().parent
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sigil-plugin-build-") as tmp:
        (Path(tmp) / f"{ENTRY}.py").write_text(
            f"import {module}  # registers the @claim_provider function\n"
            "from sigil_plugin._registry import registered\n"
            "from sigil_plugin._glue import Claims\n\n"
            "registered()  # fail the build, not the first call, when none is registered\n"
        )
        argv = ["componentize-py", "-d", str(wit_dir()), "-w", WORLD, "componentize", ENTRY,
                "-p", tmp, "-p", str(sdk_root)]
        for p in paths:
            argv += ["-p", str(Path(p).resolve())]
        argv += ["-o", str(out)]
        saved = sys.argv
        sys.argv = argv
        try:
            code = script()
        finally:
            sys.argv = saved
        if code:
            sys.exit(code)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="sigil-plugin-build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("module", help="module holding the @claim_provider function")
    parser.add_argument("--out", "-o", required=True, type=Path, help="component file to write")
    parser.add_argument("--path", "-p", action="append", default=None,
                        help="where the module and its dependencies are (default: .)")
    args = parser.parse_args()
    componentize(args.module, args.out, args.path or ["."])


if __name__ == "__main__":
    main()
