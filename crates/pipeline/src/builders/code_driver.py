# Runs candidate code against a HumanEval-style `check(candidate)`, one test statement at a
# time, and prints one result line after a per-run marker:
#   {"verdict", "asserts_total", "asserts_passed", "failed": [{"line", "source", "error"}], "error"}
# Usage: python3 driver.py MARKER ENTRY_POINT  (solution.py and tests.py beside it).
# Timeouts are decided by the caller; a program that never prints the marker line died.
import ast
import json
import sys

MARKER, ENTRY = sys.argv[1], sys.argv[2]
OUT = sys.stdout


def report(verdict, total=0, passed=0, failed=(), error=None):
    OUT.write("\n" + MARKER + json.dumps({
        "verdict": verdict,
        "asserts_total": total,
        "asserts_passed": passed,
        "failed": list(failed)[:5],
        "error": error,
    }) + "\n")
    OUT.flush()


def describe(err):
    text = str(err).strip().splitlines()
    return type(err).__name__ + (": " + text[0][:300] if text else "")


def main():
    source = open("solution.py", encoding="utf-8").read()
    try:
        code = compile(source, "solution.py", "exec")
    except (SyntaxError, ValueError) as err:
        line = getattr(err, "lineno", None)
        where = f" (line {line})" if line else ""
        report("syntax_error", error=f"{type(err).__name__}: {getattr(err, 'msg', err)}{where}")
        return
    scope = {"__name__": "__candidate__"}
    try:
        exec(code, scope)
    except BaseException as err:  # the candidate's own top level failed
        report("runtime_error", error=describe(err))
        return
    if not callable(scope.get(ENTRY)):
        report("runtime_error", error=f"NameError: `{ENTRY}` is not defined")
        return

    test_source = open("tests.py", encoding="utf-8").read()
    tree = ast.parse(test_source)
    check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    # Tests run in the candidate's namespace, as HumanEval's own harness runs them (some
    # call helpers the prompt defines, or the function by its name).
    tests = scope
    rest = ast.Module(body=[n for n in tree.body if n is not check], type_ignores=[])
    exec(compile(rest, "tests.py", "exec"), tests)
    tests[check.args.args[0].arg if check.args.args else "candidate"] = scope[ENTRY]

    total = passed = 0
    failed = []
    runtime = None
    for statement in check.body:
        has_assert = any(isinstance(n, ast.Assert) for n in ast.walk(statement))
        total += has_assert
        text = (ast.get_source_segment(test_source, statement) or "").strip()
        try:
            exec(compile(ast.Module(body=[statement], type_ignores=[]), "tests.py", "exec"), tests)
            passed += has_assert
        except AssertionError:
            failed.append({"line": statement.lineno, "source": text[:300], "error": "AssertionError"})
        except BaseException as err:
            failed.append({"line": statement.lineno, "source": text[:300], "error": describe(err)})
            runtime = runtime or describe(err)
    if runtime:
        report("runtime_error", total, passed, failed, runtime)
    elif failed:
        report("fails_tests", total, passed, failed)
    else:
        report("passes", total, passed)


main()
