"""A CHECK or DEFAULT expression in one canonical spelling, whichever engine printed it.

PostgreSQL stores an expression parsed and prints it back its own way
(`((sanity >= 0) AND (sanity <= max_sanity))`, `(name)::text <> 'x'::text`,
`x = ANY (ARRAY['a'::text, 'b'::text])`), SQLite keeps the DDL's text as
written. Comparing the text would call every cross-engine golden file
different, and ignoring it would miss a CHECK that changed. So both are
parsed (a small SQL expression grammar) and printed again: keywords and
unquoted names in lower case, casts dropped (the column's type is a fact of
its own), parentheses only where precedence needs them, `= ANY (ARRAY[..])`
as `IN (..)`, `~~` as `LIKE`, `BETWEEN` as its two comparisons. An
expression outside the grammar keeps its text with runs of blanks collapsed:
still compared, only not across engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["normalise", "unquote_number"]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>[eE]?'(?:[^']|'')*')
    |(?P<quoted>"(?:[^"]|"")*")
    |(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
    |(?P<name>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<op>::|<>|!=|<=|>=|\|\||!~~\*?|~~\*?|!~\*?|~\*?|[-+*/%=<>(),.\[\]])
    )""",
    re.VERBOSE,
)

# Words that end a cast's type name: the expression goes on after them.
_STOP = frozenset("and or not is in like ilike between then else end when as escape".split())
_NUMERIC_TYPES = frozenset(
    "numeric decimal integer int int2 int4 int8 bigint smallint real float float4 float8 double".split()
)
_COMPARE = {"=", "<>", "!=", "<", ">", "<=", ">=", "~", "~*", "!~", "!~*"}
_PREC = {"or": 1, "and": 2, "not": 3, "cmp": 4, "add": 5, "mul": 6, "neg": 7, "atom": 8}


class _Unparsable(Exception):
    pass


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _Unparsable(text[pos:])
        kind = match.lastgroup
        assert kind is not None
        out.append(_Tok(kind, match.group(kind)))
        pos = match.end()
    return out


# An expression tree: (precedence, printed text); printing happens while parsing.
_Node = tuple[int, str]


class _Parser:
    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        i = self.at + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def word(self, offset: int = 0) -> str:
        tok = self.peek(offset)
        return tok.text.lower() if tok is not None and tok.kind in ("name", "op") else ""

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text.lower() != text):
            raise _Unparsable(f"expected {text!r}")
        self.at += 1
        return tok

    def done(self) -> bool:
        return self.at >= len(self.tokens)

    # Grammar, lowest precedence first.
    def expr(self) -> _Node:
        return self.binary("or", self.conj)

    def conj(self) -> _Node:
        return self.binary("and", self.negation)

    def binary(self, op: str, below: object) -> _Node:
        assert callable(below)
        left: _Node = below()
        while self.word() == op:
            self.take()
            right: _Node = below()
            left = (_PREC[op], f"{_wrap(left, _PREC[op])} {op} {_wrap(right, _PREC[op])}")
        return left

    def negation(self) -> _Node:
        if self.word() == "not":
            self.take()
            inner = self.negation()
            return (_PREC["not"], f"not {_wrap(inner, _PREC['not'])}")
        return self.comparison()

    def comparison(self) -> _Node:
        left = self.additive()
        p = _PREC["cmp"]
        word = self.word()
        if word in _COMPARE:
            op = "<>" if word == "!=" else word
            self.take()
            if self.word() in ("any", "some") and self.word(1) == "(" and op == "=":
                self.take()
                self.take("(")
                items = self.array_items()
                self.take(")")
                return (p, f"{_wrap(left, p + 1)} in ({', '.join(items)})")
            right = self.additive()
            return (p, f"{_wrap(left, p + 1)} {op} {_wrap(right, p + 1)}")
        if word == "is":
            self.take()
            negated = self.word() == "not"
            if negated:
                self.take()
            what = self.take().text.lower()
            if what not in ("null", "true", "false"):
                raise _Unparsable(what)
            return (p, f"{_wrap(left, p + 1)} is {'not ' if negated else ''}{what}")
        negated = word == "not" and self.word(1) in ("in", "like", "ilike", "between")
        if negated:
            self.take()
            word = self.word()
        if word == "in":
            self.take()
            self.take("(")
            items = [self.expr()[1]]
            while self.word() == ",":
                self.take()
                items.append(self.expr()[1])
            self.take(")")
            return (p, f"{_wrap(left, p + 1)} {'not in' if negated else 'in'} ({', '.join(items)})")
        if word in ("like", "ilike", "~~", "~~*", "!~~", "!~~*"):
            self.take()
            like = "ilike" if word in ("ilike", "~~*", "!~~*") else "like"
            negated = negated or word.startswith("!")
            right = self.additive()
            return (p, f"{_wrap(left, p + 1)} {'not ' if negated else ''}{like} {_wrap(right, p + 1)}")
        if word == "between":
            self.take()
            low = self.additive()
            self.take("and")
            high = self.additive()
            a, lo, hi = _wrap(left, p + 1), _wrap(low, p + 1), _wrap(high, p + 1)
            if negated:
                return (_PREC["or"], f"{a} < {lo} or {a} > {hi}")
            return (_PREC["and"], f"{a} >= {lo} and {a} <= {hi}")
        return left

    def array_items(self) -> list[str]:
        # ARRAY['a', 'b'] or (ARRAY[...])::text[]
        if self.word() == "(":
            self.take("(")
            items = self.array_items()
            self.take(")")
            self.casts((0, ""))
            return items
        self.take("array")
        self.take("[")
        items = [self.expr()[1]]
        while self.word() == ",":
            self.take()
            items.append(self.expr()[1])
        self.take("]")
        self.casts((0, ""))
        return items

    def additive(self) -> _Node:
        left = self.multiplicative()
        p = _PREC["add"]
        while self.word() in ("+", "-", "||"):
            op = self.take().text
            right = self.multiplicative()
            left = (p, f"{_wrap(left, p)} {op} {_wrap(right, p + 1)}")
        return left

    def multiplicative(self) -> _Node:
        left = self.unary()
        p = _PREC["mul"]
        while self.word() in ("*", "/", "%"):
            op = self.take().text
            right = self.unary()
            left = (p, f"{_wrap(left, p)} {op} {_wrap(right, p + 1)}")
        return left

    def unary(self) -> _Node:
        if self.word() in ("-", "+"):
            sign = self.take().text
            inner = self.unary()
            if inner[1][:1].isdigit():
                return (_PREC["atom"], ("-" if sign == "-" else "") + inner[1])
            return (_PREC["neg"], f"{sign}{_wrap(inner, _PREC['neg'])}")
        return self.casts(self.primary())

    def casts(self, node: _Node) -> _Node:
        while self.word() == "::":
            self.take()
            type_words = []
            while (tok := self.peek()) is not None and tok.kind in ("name", "quoted") and tok.text.lower() not in _STOP:
                type_words.append(self.take().text.lower().strip('"'))
            if self.word() == "(":
                self.take()
                while self.word() != ")":
                    self.take()
                self.take(")")
            while self.word() == "[":
                self.take()
                self.take("]")
            if not type_words:
                raise _Unparsable("a cast without a type")
            node = _cast(node, type_words[0])
        return node

    def primary(self) -> _Node:
        tok = self.peek()
        if tok is None:
            raise _Unparsable("end of expression")
        atom = _PREC["atom"]
        if tok.kind == "number":
            self.take()
            return (atom, tok.text)
        if tok.kind == "string":
            self.take()
            return (atom, tok.text if tok.text.startswith("'") else tok.text[1:])
        if tok.text == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        if tok.kind == "quoted":
            self.take()
            return (atom, _identifier(tok.text))
        if tok.kind != "name" or tok.text.lower() in _STOP:
            raise _Unparsable(tok.text)
        self.take()
        name = tok.text.lower()
        if name == "cast" and self.word() == "(":
            self.take("(")
            inner = self.expr()
            self.take("as")
            type_words = []
            while self.word() not in (")", ""):
                type_words.append(self.take().text.lower())
            self.take(")")
            return _cast(inner, type_words[0] if type_words else "")
        if name == "array" and self.word() == "[":
            self.at -= 1
            return (atom, f"({', '.join(self.array_items())})")
        if self.word() == ".":
            self.take()
            name = f"{name}.{_identifier(self.take().text)}"
        if self.word() == "(":
            self.take()
            args: list[str] = []
            if self.word() == "*":
                self.take()
                args.append("*")
            while self.word() != ")":
                if args:
                    self.take(",")
                args.append(self.expr()[1])
            self.take(")")
            return (atom, f"{name}({', '.join(args)})")
        return (atom, name)


def _identifier(text: str) -> str:
    """A quoted name as an unquoted one when lower case would say the same."""
    if text.startswith('"'):
        inner = text[1:-1].replace('""', '"')
        return inner if re.fullmatch(r"[a-z_][a-z0-9_$]*", inner) else text
    return text.lower()


def _cast(node: _Node, type_word: str) -> _Node:
    """Drop a cast; a quoted number cast to a numeric type becomes the number ('-1'::integer is -1)."""
    text = node[1]
    if type_word in _NUMERIC_TYPES and text.startswith("'"):
        number = unquote_number(text)
        if number is not None:
            return (_PREC["atom"], number)
    return node


def _wrap(node: _Node, needed: int) -> str:
    return node[1] if node[0] >= needed else f"({node[1]})"


def unquote_number(text: str) -> str | None:
    """'4.99' as 4.99 when the quoted text is a plain number, else None."""
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        inner = text[1:-1].strip()
        if re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", inner):
            return inner.lstrip("+")
    return None


def normalise(text: str) -> str:
    """The expression's canonical spelling; its text with blanks collapsed when it is outside the grammar."""
    try:
        parser = _Parser(_tokens(text))
        node = parser.expr()
        if not parser.done():
            raise _Unparsable("trailing text")
        return node[1]
    except _Unparsable:
        return " ".join(text.split())
