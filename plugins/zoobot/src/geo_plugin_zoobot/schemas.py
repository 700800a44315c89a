"""Decision-tree schemas: questions, their answers and which answer leads to which question.

Laid out as ``zoobot.shared.schemas`` so scripts port by changing the import:

    >>> from geo_plugin_zoobot import schemas
    >>> schema = schemas.gz2_ortho_schema
    >>> schema.question_index_groups[:2]
    [(0, 2), (3, 4)]
    >>> schema.get_question("bar-gz2").asked_after.text
    'smooth-or-featured-gz2_featured-or-disk'

A schema is validated when built: answers of a question are contiguous label
columns, every question has a dependency entry, and every dependency names an
existing answer of another question (no cycles). Importing this module never
imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from geo_core import ConfigError

from geo_plugin_zoobot import _label_metadata as label_metadata

__all__ = [
    "Answer",
    "Question",
    "Schema",
    "get_schema",
    "PUBLISHED_SCHEMAS",
    "decals_dr12_ortho_schema",
    "decals_dr5_ortho_schema",
    "decals_dr8_ortho_schema",
    "decals_all_campaigns_ortho_schema",
    "desi_schema",
    "gz2_ortho_schema",
    "gz2_schema",
    "gz_rings_schema",
]


class Answer:
    """One answer: its label column ``text``, its ``question`` and its ``index`` among all label columns."""

    def __init__(self, text: str, question: Question, index: int) -> None:
        self.text = text
        self.question = question
        self.index = index
        self._next_question: Question | None = None

    @property
    def next_question(self) -> Question | None:
        """The question asked after this answer, if any."""
        return self._next_question

    @property
    def pretty_text(self) -> str:
        """Human-readable text, e.g. ``'Smooth Or Featured Smooth'``."""
        return self.text.replace("-", " ").replace("_", " ").title()

    def __repr__(self) -> str:
        return f"Answer({self.text!r}, index={self.index})"


class Question:
    """One question: its ``text``, its ``answers`` and the slice of label columns they occupy."""

    def __init__(self, question_text: str, answer_text: Sequence[str], label_cols: Sequence[str]) -> None:
        self.text = question_text
        self.answers: list[Answer] = []
        for suffix in answer_text:
            col = question_text + suffix
            self.answers.append(Answer(col, self, list(label_cols).index(col)))
        if not self.answers:
            raise ConfigError(f"question {question_text!r} has no answers", key=question_text)
        indices = [a.index for a in self.answers]
        self.start_index = min(indices)
        self.end_index = max(indices)
        if indices != list(range(self.start_index, self.end_index + 1)):
            raise ConfigError(
                f"answers of question {question_text!r} must be contiguous label columns in order, got indices "
                f"{indices}",
                key=question_text,
            )
        self._asked_after: Answer | None = None

    @property
    def asked_after(self) -> Answer | None:
        """The answer after which this question is asked (``None``: always asked)."""
        return self._asked_after

    def __repr__(self) -> str:
        return f"Question({self.text!r}, indices {self.start_index}..{self.end_index})"


class Schema:
    """The layout of a decision tree.

    Args:
        question_answer_pairs: Question -> answer suffixes, e.g. ``{"ring": ["_yes", "_no"]}``;
            label columns are question + suffix, in this order.
        dependencies: Question -> the answer (label column) after which it is asked, or ``None``.

    Raises:
        ConfigError: Duplicate label columns, a question without a dependency entry, a dependency
            on an unknown answer or on the question itself, or a cycle.
    """

    def __init__(self, question_answer_pairs: Mapping[str, Sequence[str]], dependencies: Mapping[str, str | None]):
        if not question_answer_pairs:
            raise ConfigError("a schema needs at least one question")
        self.question_answer_pairs = {q: list(a) for q, a in question_answer_pairs.items()}
        self.dependencies = dict(dependencies)
        _, self.label_cols = label_metadata.extract_questions_and_label_cols(self.question_answer_pairs)
        dupes = sorted({c for c in self.label_cols if self.label_cols.count(c) > 1})
        if dupes:
            raise ConfigError(f"duplicate label columns in schema: {dupes}")
        self.questions = [Question(q, a, self.label_cols) for q, a in self.question_answer_pairs.items()]
        self._link()

    def _link(self) -> None:
        missing = [q.text for q in self.questions if q.text not in self.dependencies]
        if missing:
            raise ConfigError(f"dependencies has no entry for question(s) {missing}; use None for 'always asked'")
        extra = sorted(set(self.dependencies) - {q.text for q in self.questions})
        if extra:
            known = [q.text for q in self.questions]
            raise ConfigError(f"dependencies name unknown question(s) {extra}; known: {known}")
        by_text = {a.text: a for a in self.answers}
        for q in self.questions:
            prev = self.dependencies[q.text]
            if prev is None:
                continue
            if prev not in by_text:
                raise ConfigError(f"question {q.text!r} depends on unknown answer {prev!r}", key=q.text)
            answer = by_text[prev]
            if answer.question is q:
                raise ConfigError(f"question {q.text!r} cannot depend on its own answer {prev!r}", key=q.text)
            answer._next_question = q
            q._asked_after = answer
        for q in self.questions:  # every chain of asked_after must end at an always-asked question
            seen = {q.text}
            cur = q.asked_after
            while cur is not None:
                if cur.question.text in seen:
                    raise ConfigError(f"dependency cycle through question {q.text!r}", key=q.text)
                seen.add(cur.question.text)
                cur = cur.question.asked_after

    @property
    def question_index_groups(self) -> list[tuple[int, int]]:
        """``(first, last)`` label-column index of each question's answers (inclusive)."""
        return [(q.start_index, q.end_index) for q in self.questions]

    @property
    def named_index_groups(self) -> dict[Question, tuple[int, int]]:
        """Question -> ``(first, last)`` index of its answers."""
        return dict(zip(self.questions, self.question_index_groups, strict=True))

    @property
    def answers(self) -> list[Answer]:
        """All answers, in label-column order."""
        return [a for q in self.questions for a in q.answers]

    def get_answer(self, answer_text: str) -> Answer:
        """Return the answer with label column ``answer_text``.

        Raises:
            KeyError: No such answer (the message lists the closest names).
        """
        for a in self.answers:
            if a.text == answer_text:
                return a
        raise KeyError(f"answer {answer_text!r} not in schema; answers: {self.label_cols}")

    def get_question(self, question_text: str) -> Question:
        """Return the question named ``question_text``.

        Raises:
            KeyError: No such question.
        """
        for q in self.questions:
            if q.text == question_text:
                return q
        raise KeyError(f"question {question_text!r} not in schema; questions: {[q.text for q in self.questions]}")

    def joint_p(self, prob_of_answers: Any, answer_text: str) -> Any:
        """Probability that ``answer_text`` is reached and given, from per-question answer probabilities.

        Args:
            prob_of_answers: ``(N, n_answers)`` array of p(answer | its question asked).
            answer_text: The answer's label column.

        Returns:
            ``(N,)`` array: p(answer | question) times p(every answer leading to the question).
        """
        answer = self.get_answer(answer_text)
        p = prob_of_answers[:, answer.index]
        prev = answer.question.asked_after
        return p if prev is None else p * self.joint_p(prob_of_answers, prev.text)

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts (``question_answer_pairs``, ``dependencies``): safe for hparams and YAML."""
        return {"question_answer_pairs": dict(self.question_answer_pairs), "dependencies": dict(self.dependencies)}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.label_cols))

    def __repr__(self) -> str:
        return f"Schema({len(self.questions)} questions, {len(self.label_cols)} answers)"


decals_dr12_ortho_schema = Schema(
    label_metadata.decals_dr12_ortho_pairs,
    {q: d for q, d in label_metadata.decals_ortho_dependencies.items() if "-dr12" in q},
)
decals_dr5_ortho_schema = Schema(
    label_metadata.decals_dr5_ortho_pairs,
    {q: d for q, d in label_metadata.decals_ortho_dependencies.items() if "-dr5" in q},
)
decals_dr8_ortho_schema = Schema(
    label_metadata.decals_dr8_ortho_pairs,
    {q: d for q, d in label_metadata.decals_ortho_dependencies.items() if "-dr8" in q},
)
decals_all_campaigns_ortho_schema = Schema(
    label_metadata.decals_all_campaigns_ortho_pairs, label_metadata.decals_ortho_dependencies
)
desi_schema = Schema(label_metadata.desi_pairs, label_metadata.desi_dependencies)
gz2_ortho_schema = Schema(label_metadata.gz2_ortho_pairs, label_metadata.gz2_ortho_dependencies)
gz2_schema = Schema(label_metadata.gz2_pairs, label_metadata.gz2_dependencies)
gz_rings_schema = Schema(label_metadata.rings_pairs, label_metadata.rings_dependencies)

#: Published schemas by name (the names usable as ``schema: <name>`` in YAML configs).
PUBLISHED_SCHEMAS: dict[str, Schema] = {
    "decals_dr12_ortho_schema": decals_dr12_ortho_schema,
    "decals_dr5_ortho_schema": decals_dr5_ortho_schema,
    "decals_dr8_ortho_schema": decals_dr8_ortho_schema,
    "decals_all_campaigns_ortho_schema": decals_all_campaigns_ortho_schema,
    "desi_schema": desi_schema,
    "gz2_ortho_schema": gz2_ortho_schema,
    "gz2_schema": gz2_schema,
    "gz_rings_schema": gz_rings_schema,
}


def get_schema(schema: Schema | str | Mapping[str, Any]) -> Schema:
    """Return a :class:`Schema` from a schema, a published name or a ``to_dict()`` mapping.

    Raises:
        ConfigError: An unknown name (the message lists the published ones) or a bad mapping.
    """
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, str):
        key = schema if schema in PUBLISHED_SCHEMAS else f"{schema}_schema"
        if key not in PUBLISHED_SCHEMAS:
            raise ConfigError(
                f"unknown schema {schema!r}; published schemas: {sorted(PUBLISHED_SCHEMAS)}", key="schema"
            )
        return PUBLISHED_SCHEMAS[key]
    if isinstance(schema, Mapping) and {"question_answer_pairs", "dependencies"} <= set(schema):
        return Schema(schema["question_answer_pairs"], schema["dependencies"])
    raise ConfigError(
        "schema must be a Schema, a published schema name, or a mapping with 'question_answer_pairs' and "
        f"'dependencies'; got {type(schema).__name__}",
        key="schema",
    )
