"""Source positions. Every AST node, IR node and diagnostic carries a `Span`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Span(BaseModel):
    """A half-open region of one source file; lines and columns count from 1."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, file: str, line: int, column: int) -> Span:
        return cls.model_construct(
            file=file, line=line, column=column, end_line=line, end_column=column + 1
        )

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def cover(self, other: Span) -> Span:
        """The smallest span holding both (same file assumed)."""
        start = min((self.line, self.column), (other.line, other.column))
        end = max((self.end_line, self.end_column), (other.end_line, other.end_column))
        return Span.model_construct(
            file=self.file, line=start[0], column=start[1], end_line=end[0], end_column=end[1]
        )


NOWHERE = Span.model_construct(file="<builtin>", line=0, column=0, end_line=0, end_column=0)
