"""CloudWatch's alarm evaluation and metric filters, as AWS documents them, to make the template's alarms fire.

moto stores alarms and metric data but never evaluates an alarm (its state only changes by ``SetAlarmState``)
and its log filter patterns match every event once they are JSON patterns, so the tests do both here, by the
CloudWatch User Guide:

- "Evaluating an alarm" and "How alarm state is evaluated when data is missing"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html): each datapoint is
  the alarm's statistic over one period; with at least ``EvaluationPeriods`` real datapoints in the evaluation
  range the most recent ``EvaluationPeriods`` of them decide, ``DatapointsToAlarm`` of which must breach;
  with fewer, missing ones are filled by ``TreatMissingData`` as few times as possible.
- "Filter pattern syntax" (JSON log events): ``{ $.field = "value" }`` terms joined by ``&&`` / ``||``.

The samples are what CloudWatch receives: the EMF documents the functions print, or the access-log lines a
metric filter turns into metric values.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from statistics import fmean
from typing import Any

EVALUATION_RANGE_EXTRA = 2
"""CloudWatch fetches more periods than it evaluates (the guide's example: 5 for 3); how many more it does not
fix, so the evaluator uses the example's two."""

STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum,
    "Maximum": max,
    "Minimum": min,
    "Average": fmean,
    "SampleCount": lambda values: float(len(values)),
}
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
ALARM, OK, INSUFFICIENT_DATA = "ALARM", "OK", "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class Sample:
    """One value CloudWatch received for a metric (namespace, name and the exact set of dimensions)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    timestamp: float
    """Seconds since the epoch."""
    value: float

    def at(self, timestamp: float) -> Sample:
        return Sample(self.namespace, self.name, self.dimensions, timestamp, self.value)


@dataclass(frozen=True)
class Alarm:
    name: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str

    @classmethod
    def from_template(cls, name: str, properties: Mapping[str, Any], resolve: Mapping[str, str]) -> Alarm:
        """The alarm as CloudFormation creates it; ``resolve`` gives the value of a ``Ref`` in a dimension."""

        def value(raw: Any) -> str:
            if isinstance(raw, dict) and "Fn::GetAtt" in raw:
                return resolve[".".join(raw["Fn::GetAtt"])]
            return resolve[raw["Ref"]] if isinstance(raw, dict) else str(raw)

        evaluation_periods = int(properties["EvaluationPeriods"])
        return cls(
            name=name,
            namespace=properties["Namespace"],
            metric=properties["MetricName"],
            dimensions=tuple(sorted((d["Name"], value(d["Value"])) for d in properties.get("Dimensions", []))),
            statistic=properties["Statistic"],
            period=int(properties["Period"]),
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=int(properties.get("DatapointsToAlarm", evaluation_periods)),
            threshold=float(properties["Threshold"]),
            comparison=properties["ComparisonOperator"],
            treat_missing=properties.get("TreatMissingData", "missing"),
        )

    def watches(self, sample: Sample) -> bool:
        return (sample.namespace, sample.name, sample.dimensions) == (self.namespace, self.metric, self.dimensions)

    def breaches(self, datapoint: float) -> bool:
        return COMPARISONS[self.comparison](datapoint, self.threshold)


def datapoints(alarm: Alarm, samples: Iterable[Sample], *, at: float) -> list[float | None]:
    """The alarm's statistic over each period of its evaluation range ending at ``at``, oldest first."""
    count = alarm.evaluation_periods + EVALUATION_RANGE_EXTRA
    start = at - count * alarm.period
    buckets: list[list[float]] = [[] for _ in range(count)]
    for sample in samples:
        if alarm.watches(sample) and start <= sample.timestamp < at:
            buckets[int((sample.timestamp - start) // alarm.period)].append(sample.value)
    return [STATISTICS[alarm.statistic](bucket) if bucket else None for bucket in buckets]


def evaluate(alarm: Alarm, points: list[float | None], current: str = OK) -> str:
    """The state CloudWatch sets from the evaluation range ``points`` (oldest first; ``None`` is missing)."""
    real = [alarm.breaches(point) for point in points if point is not None]
    needed, to_alarm = alarm.evaluation_periods, alarm.datapoints_to_alarm
    if len(real) >= needed:
        return ALARM if sum(real[-needed:]) >= to_alarm else OK
    if not real:
        return {"missing": INSUFFICIENT_DATA, "ignore": current, "breaching": ALARM, "notBreaching": OK}[
            alarm.treat_missing
        ]
    if alarm.treat_missing in ("breaching", "notBreaching"):
        filled = real + [alarm.treat_missing == "breaching"] * (needed - len(real))
        return ALARM if sum(filled) >= to_alarm else OK
    # missing / ignore: only the real datapoints count; the guide's table shows `ignore` keeping the current
    # state where those alone would alarm without reaching DatapointsToAlarm.
    breaching = sum(real)
    if breaching >= to_alarm:
        return ALARM
    if breaching >= min(to_alarm, len(real)):
        return ALARM if alarm.treat_missing == "missing" else current
    return OK


def state(alarm: Alarm, samples: Iterable[Sample], *, at: float, current: str = OK) -> str:
    return evaluate(alarm, datapoints(alarm, samples, at=at), current)


def samples_from_emf(document: Mapping[str, Any]) -> list[Sample]:
    """What CloudWatch extracts from one embedded-metric-format log line: a sample per metric and dimension set."""
    metadata = document["_aws"]
    timestamp = metadata["Timestamp"] / 1000
    samples = []
    for directive in metadata["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            dimensions = tuple(sorted((name, str(document[name])) for name in dimension_set))
            for metric in directive["Metrics"]:
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    samples.append(Sample(directive["Namespace"], metric["Name"], dimensions, timestamp, float(value)))
    return samples


_TERM = re.compile(r'^\$\.(?P<field>[A-Za-z0-9_.]+)\s*(?P<op>=|!=)\s*(?:"(?P<text>[^"]*)"|(?P<number>-?[0-9.]+))$')


def json_filter(pattern: str) -> Callable[[Mapping[str, Any]], bool]:
    """A matcher for a JSON metric filter pattern of ``$.field = value`` terms joined by one kind of ``&&``/``||``.

    Anything else raises, so a pattern the tests cannot read fails them instead of matching everything.
    """
    body = pattern.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError(f"not a JSON filter pattern: {pattern!r}")
    body = body[1:-1].strip()
    joiner = "&&" if "&&" in body else "||"
    if "&&" in body and "||" in body:
        raise ValueError(f"mixed && and || (parentheses needed; not supported here): {pattern!r}")
    terms = []
    for text in body.split(joiner):
        match = _TERM.match(text.strip())
        if match is None:
            raise ValueError(f"unsupported term {text.strip()!r} in {pattern!r}")
        terms.append(match)

    def term_matches(term: re.Match[str], event: Mapping[str, Any]) -> bool:
        value: Any = event
        for key in term["field"].split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        if term["text"] is not None:
            equal = isinstance(value, str) and value == term["text"]
        else:
            equal = isinstance(value, int | float) and not isinstance(value, bool) and value == float(term["number"])
        return equal if term["op"] == "=" else not equal

    combine = all if joiner == "&&" else any
    return lambda event: combine(term_matches(term, event) for term in terms)


def samples_from_metric_filter(properties: Mapping[str, Any], events: Iterable[tuple[float, str]]) -> list[Sample]:
    """The metric values an ``AWS::Logs::MetricFilter`` produces from ``(timestamp, message)`` log events."""
    matches = json_filter(properties["FilterPattern"])
    samples = []
    for timestamp, message in events:
        try:
            event = json.loads(message)
        except json.JSONDecodeError:
            event = None  # a JSON pattern never matches a line that is not JSON
        matched = isinstance(event, dict) and matches(event)
        for transformation in properties["MetricTransformations"]:
            if matched:
                value = float(transformation["MetricValue"])
            elif "DefaultValue" in transformation:
                value = float(transformation["DefaultValue"])
            else:
                continue
            samples.append(
                Sample(transformation["MetricNamespace"], transformation["MetricName"], (), timestamp, value)
            )
    return samples


def access_log_line(log_format: str, context: Mapping[str, str]) -> str:
    """The access-log line API Gateway writes for a request: each ``$context`` variable replaced, ``-`` if unset."""
    return re.sub(r"\$context\.[A-Za-z0-9_.]+", lambda match: context.get(match.group(0), "-"), log_format)
