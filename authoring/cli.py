"""The maintainer's commands: python -m authoring <command>.

  build [--check] [TOPIC ...]   regenerate notebooks/ (student versions) and graders/fixtures/ from
                                solutions/; with --check, only report any difference
  bundle DIR                    write the student release: notebooks, graders (visible checks), utils,
                                datasets; no solutions, no hidden cases, no grading machinery
  to-text NOTEBOOK FILE         a solution notebook as editable "percent" text (see authoring.notebook_text)
  to-ipynb FILE NOTEBOOK        the text back into the solution notebook
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authoring", description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    p = sub.add_parser("build", help="regenerate notebooks/ and graders/fixtures/ from solutions/")
    p.add_argument("--check", action="store_true", help="only report whether they are in sync")
    p.add_argument("only", nargs="*", help="limit to these topics (e.g. 02_activations)")
    p = sub.add_parser("bundle", help="write the student release bundle")
    p.add_argument("dir")
    p = sub.add_parser("to-text", help="solution notebook -> editable text")
    p.add_argument("notebook")
    p.add_argument("text")
    p = sub.add_parser("to-ipynb", help="editable text -> solution notebook")
    p.add_argument("text")
    p.add_argument("notebook")
    args = parser.parse_args(argv)
    if args.command == "build":
        from .build import build
        return build(check=args.check, only=args.only)
    if args.command == "bundle":
        from .bundle import make_bundle
        print(f"student bundle written to {make_bundle(Path(args.dir))}")
        return 0
    from .notebook_text import notebook_to_text, text_to_notebook, write_notebook
    if args.command == "to-text":
        Path(args.text).write_text(notebook_to_text(json.loads(Path(args.notebook).read_text(encoding="utf-8"))),
                                   encoding="utf-8")
    else:
        write_notebook(text_to_notebook(Path(args.text).read_text(encoding="utf-8")), Path(args.notebook))
    return 0
