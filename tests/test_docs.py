"""Every ```arch example in docs/*.md and README.md behaves as its info string says.

Info strings of example blocks:

- ```arch                 a complete file: `check_file` must report no errors;
- ```arch fragment        must parse; a fragment that does not start with an item
                          keyword (import, const, op, block, space, net) is parsed as
                          the body of `space _doc { ... }`; it is not elaborated;
- ```arch error           a complete file that must fail; the next non-blank line is
                          `<!-- error: TEXT -->` and TEXT must occur in the rendered
                          diagnostics;
- `file=NAME.arch`        (with `arch` or `arch error`) the example is saved under that
                          name, next to every other example of the same document, so
                          that later examples can `import "NAME.arch"`.

Each example is its own test case, with an id like `language.md:L123` (the line of its
opening fence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from archc.dsl.frontend import check_file
from archc.dsl.parser import parse
from archc.kernel.diagnostics import ArchError, Severity, render

DOCS = Path(__file__).resolve().parent.parent / "docs"
KINDS = ("file", "fragment", "error")
ITEM_WORDS = ("import", "const", "op", "block", "space", "net")
_ERROR_COMMENT = re.compile(r"^<!--\s*error:\s*(.*?)\s*-->$")


class DocFormatError(Exception):
    """A malformed example block (bad info string, unclosed fence, missing comment)."""


@dataclass(frozen=True)
class Example:
    doc: str  # file name of the document, e.g. "language.md"
    line: int  # 1-based line of the opening fence
    kind: str  # one of KINDS
    text: str
    file_name: str | None = None  # `file=NAME`
    expected: str | None = None  # for kind "error"

    @property
    def id(self) -> str:
        return f"{self.doc}:L{self.line}"


def extract(markdown: str, doc: str = "<doc>") -> list[Example]:
    """The ```arch blocks of a markdown text, in order."""
    lines = markdown.splitlines()
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)(`{3,}|~{3,})\s*(.*)$", lines[i])
        if not fence:
            i += 1
            continue
        indent, marker, info = fence.group(1), fence.group(2), fence.group(3).split()
        start = i
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == marker), None)
        if end is None:
            raise DocFormatError(f"{doc}:L{start + 1}: code block is never closed")
        i = end + 1
        if not info or info[0] != "arch":
            continue
        kind, file_name = "file", None
        for word in info[1:]:
            if word in ("fragment", "error"):
                kind = word
            elif word.startswith("file=") and word.endswith(".arch") and "/" not in word:
                file_name = word[len("file=") :]
            else:
                raise DocFormatError(
                    f"{doc}:L{start + 1}: unknown word `{word}` in the "
                    "info string (use fragment, error or file=NAME.arch)"
                )
        if kind == "fragment" and file_name:
            raise DocFormatError(f"{doc}:L{start + 1}: a fragment cannot be a file=")
        expected = None
        if kind == "error":
            k = i
            while k < len(lines) and not lines[k].strip():
                k += 1
            match = _ERROR_COMMENT.match(lines[k].strip()) if k < len(lines) else None
            if not match or not match.group(1):
                raise DocFormatError(
                    f"{doc}:L{start + 1}: an `arch error` block must be "
                    "followed by `<!-- error: expected text -->`"
                )
            expected = match.group(1)
        body = [
            line[len(indent) :] if line.startswith(indent) else line.lstrip()
            for line in lines[start + 1 : end]
        ]
        text = "\n".join(body) + "\n"
        examples.append(Example(doc, start + 1, kind, text, file_name, expected))
    return examples


def _all_examples() -> list[Example]:
    out: list[Example] = []
    for path in [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"]:
        out.extend(extract(path.read_text(encoding="utf-8"), path.name))
    return out


EXAMPLES = _all_examples()


def _write_library(tmp_path: Path, example: Example) -> Path:
    """Save every `file=` example of the document; return the path for `example`."""
    for other in EXAMPLES:
        if other.doc == example.doc and other.file_name and other is not example:
            (tmp_path / other.file_name).write_text(other.text, encoding="utf-8")
    path = tmp_path / (example.file_name or "example.arch")
    path.write_text(example.text, encoding="utf-8")
    return path


def _first_word(text: str) -> str:
    """The first word of `text` outside comments ("" if there is none)."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            return words[0]
    return ""


def _errors(result) -> list:
    return [d for d in result.diagnostics if d.severity is Severity.ERROR]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example(example: Example, tmp_path: Path) -> None:
    if example.kind == "fragment":
        text = (
            example.text
            if _first_word(example.text) in ITEM_WORDS
            else f"space _doc {{\n{example.text}}}\n"
        )
        try:
            parse(text, example.id)
        except ArchError as err:
            pytest.fail(
                f"{example.id}: fragment does not parse:\n"
                f"{render(err.diagnostics, {example.id: text})}"
            )
        return
    path = _write_library(tmp_path, example)
    result = check_file(path, example.text)
    rendered = render(result.diagnostics, result.sources)
    if example.kind == "file":
        assert not _errors(result), f"{example.id}: example should check cleanly:\n{rendered}"
    else:
        assert _errors(result), (
            f"{example.id}: example should fail with {example.expected!r} but checks cleanly"
        )
        assert example.expected in rendered, (
            f"{example.id}: expected {example.expected!r} in:\n{rendered}"
        )


def test_language_reference_has_examples() -> None:
    """Guards against a broken extractor: an empty list would pass vacuously."""
    ours = [e for e in EXAMPLES if e.doc == "language.md"]
    assert len(ours) >= 30
    assert {e.kind for e in ours} == set(KINDS)
    assert any(e.file_name for e in ours)


_SAMPLE = """\
Text.

```arch
net a { }
```

```arch fragment
let x = 1
```

```python
not arch
```

```arch error file=bad.arch
net b { }
```

<!-- error: no `output` -->

- in a list:

  ```arch fragment
  # a comment first
  import std
  ```
"""


def test_extractor_on_a_sample() -> None:
    found = extract(_SAMPLE, "s.md")
    assert [(e.id, e.kind, e.file_name, e.expected) for e in found] == [
        ("s.md:L3", "file", None, None),
        ("s.md:L7", "fragment", None, None),
        ("s.md:L15", "error", "bad.arch", "no `output`"),
        ("s.md:L23", "fragment", None, None),
    ]
    assert found[0].text == "net a { }\n"
    assert found[3].text == "# a comment first\nimport std\n"
    assert _first_word(found[3].text) == "import"


@pytest.mark.parametrize(
    "bad",
    [
        "```arch\nnet a { }\n",  # never closed
        "```arch fragmnet\nlet x = 1\n```\n",  # misspelt kind
        "```arch error\nnet a { }\n```\n\nno comment here\n",  # missing expected error
    ],
)
def test_extractor_rejects_malformed_blocks(bad: str) -> None:
    with pytest.raises(DocFormatError):
        extract(bad, "bad.md")
