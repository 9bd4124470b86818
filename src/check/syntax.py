"""trio-present check: compile a deck's code blocks without running any of them.

Reads a JSON list of blocks (``{"name": ..., "source": ...}``) on stdin and writes a JSON list
of the blocks that do not compile: ``{"index": i, "line": n or null, "msg": ..., "text": ...}``
where ``line`` counts from the block's first line.  Blocks are compiled exactly as the harness
compiles them (top-level ``await`` allowed), so what passes here fails only at run time.
Nothing is executed and trio is not imported: this runs in tens of milliseconds.
"""

import ast
import json
import sys


def check(blocks):
    problems = []
    for index, block in enumerate(blocks):
        try:
            compile(block.get("source", ""), block.get("name", "<block>"), "exec",
                    flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        except SyntaxError as exc:  # also IndentationError and TabError
            problems.append({"index": index, "line": exc.lineno, "msg": exc.msg,
                             "text": (exc.text or "").strip()})
        except Exception as exc:  # null bytes (ValueError), nesting too deep (RecursionError)
            problems.append({"index": index, "line": None,
                             "msg": "%s: %s" % (type(exc).__name__, exc), "text": ""})
    return problems


if __name__ == "__main__":
    json.dump(check(json.load(sys.stdin)), sys.stdout)
