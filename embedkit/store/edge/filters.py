"""A filter in Qdrant's language, as qdrant_client's models say it, in Qdrant Edge's own classes.

Qdrant Edge mirrors the server's filter conditions class by class; this maps one onto the other, so that a filter
any Qdrant client sends runs on an embedded shard as it would on a server."""

from __future__ import annotations

from typing import Any

import qdrant_edge as qe

from embedkit.errors import InvalidOptionError

_MATCHES = {"MatchValue": ("value", qe.MatchValue), "MatchAny": ("any", qe.MatchAny),
            "MatchExcept": ("except_", qe.MatchExcept), "MatchText": ("text", qe.MatchText),
            "MatchTextAny": ("text_any", qe.MatchTextAny), "MatchPhrase": ("phrase", qe.MatchPhrase),
            "MatchPrefix": ("prefix", qe.MatchPrefix), "MatchSubstring": ("substring", qe.MatchSubstring)}


def edge_filter(filter: Any) -> qe.Filter:
    """`filter` (a qdrant_client `models.Filter`) as a Qdrant Edge filter; InvalidOptionError names a condition
    Edge cannot run."""
    min_should = None
    if filter.min_should is not None:
        min_should = qe.MinShould([_condition(c) for c in filter.min_should.conditions], filter.min_should.min_count)
    return qe.Filter(must=_conditions(filter.must), should=_conditions(filter.should),
                     must_not=_conditions(filter.must_not), min_should=min_should)


def _conditions(conditions: Any) -> list[Any] | None:
    if conditions is None:
        return None
    return [_condition(c) for c in (conditions if isinstance(conditions, list) else [conditions])]


def _condition(condition: Any) -> Any:
    kind = type(condition).__name__
    if kind == "Filter":
        return edge_filter(condition)
    if kind == "FieldCondition":
        return _field(condition)
    if kind == "IsEmptyCondition":
        return qe.IsEmptyCondition(condition.is_empty.key)
    if kind == "IsNullCondition":
        return qe.IsNullCondition(condition.is_null.key)
    if kind == "HasIdCondition":
        return qe.HasIdCondition({_point_id(i) for i in condition.has_id})
    if kind == "HasVectorCondition":
        return qe.HasVectorCondition(condition.has_vector)
    if kind == "NestedCondition":
        return qe.NestedCondition(condition.nested.key, edge_filter(condition.nested.filter))
    raise InvalidOptionError(f"the filter condition {kind} is not supported by the embedded store; use must/should/"
                             f"must_not with match, range, geo, values_count, is_empty, is_null, has_id, has_vector "
                             f"or nested conditions")


def _field(condition: Any) -> qe.FieldCondition:
    arguments: dict[str, Any] = {}
    if condition.match is not None:
        attribute, make = _MATCHES[type(condition.match).__name__]
        arguments["match"] = make(getattr(condition.match, attribute))
    if condition.range is not None:
        bounds = {name: getattr(condition.range, name) for name in ("gte", "gt", "lte", "lt")}
        is_dates = type(condition.range).__name__ == "DatetimeRange"
        arguments["range"] = (qe.RangeDateTime if is_dates else qe.RangeFloat)(**bounds)
    if condition.geo_bounding_box is not None:
        box = condition.geo_bounding_box
        arguments["geo_bounding_box"] = qe.GeoBoundingBox(_point(box.top_left), _point(box.bottom_right))
    if condition.geo_radius is not None:
        arguments["geo_radius"] = qe.GeoRadius(_point(condition.geo_radius.center), condition.geo_radius.radius)
    if condition.geo_polygon is not None:
        polygon = condition.geo_polygon
        arguments["geo_polygon"] = qe.GeoPolygon([_point(p) for p in polygon.exterior.points],
                                                 [[_point(p) for p in ring.points] for ring in polygon.interiors or []]
                                                 or None)
    if condition.values_count is not None:
        counts = condition.values_count
        arguments["values_count"] = qe.ValuesCount(lt=counts.lt, gt=counts.gt, lte=counts.lte, gte=counts.gte)
    if condition.is_empty is not None:
        arguments["is_empty"] = condition.is_empty
    if condition.is_null is not None:
        arguments["is_null"] = condition.is_null
    return qe.FieldCondition(condition.key, **arguments)


def _point(point: Any) -> qe.GeoPoint:
    return qe.GeoPoint(lon=point.lon, lat=point.lat)


def _point_id(point_id: Any) -> Any:
    return point_id if isinstance(point_id, int) else str(point_id)
