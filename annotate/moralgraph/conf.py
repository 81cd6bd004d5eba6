"""Edge thresholds, overridable in settings (MORALGRAPH_THRESHOLDS = {"min_wiser": 3, ...}) for the default mode.
The compatibility mode keeps the published thresholds: changing them would no longer rebuild published graphs."""

from django.conf import settings

from annotate.moralgraph.graph import COMPAT_MAI_2023, COMPAT_THRESHOLDS, Thresholds

COMPAT_MODES = (COMPAT_MAI_2023,)


def thresholds_for(compat: str = "") -> Thresholds:
    if compat:
        return COMPAT_THRESHOLDS
    return Thresholds(**getattr(settings, "MORALGRAPH_THRESHOLDS", {}))
