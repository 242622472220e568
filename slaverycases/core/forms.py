"""GOV.UK Design System form parts: the three-part date input, with GOV.UK error wording."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

_TIME_RE = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


class GovukDateWidget(forms.MultiWidget):
    """Day, month and year boxes (and optionally a 24-hour time), as in the GOV.UK pattern."""

    def __init__(self, attrs: dict[str, Any] | None = None, with_time: bool = False) -> None:
        numeric = {"inputmode": "numeric"}
        widgets = {
            "day": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-2"}),
            "month": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-2"}),
            "year": forms.TextInput(attrs={**numeric, "class": "govuk-input--width-4"}),
        }
        if with_time:
            widgets["time"] = forms.TextInput(attrs={"class": "govuk-input--width-4"})
        self.with_time = with_time
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        if not value:
            return [None] * len(self.widgets)
        if isinstance(value, datetime):
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            parts = [local.day, local.month, local.year]
            return [*parts, local.strftime("%H:%M")] if self.with_time else parts
        if isinstance(value, date):
            parts = [value.day, value.month, value.year]
            return [*parts, ""] if self.with_time else parts
        return [None] * len(self.widgets)


class GovukDateField(forms.Field):
    """A date (or date and time) typed into GOV.UK date boxes.

    Messages follow the GOV.UK date input guidance: "Enter the date the crime was recorded",
    "Date the crime was recorded must include a month", "... must be a real date",
    "... must be today or in the past".
    """

    def __init__(
        self,
        *,
        with_time: bool = False,
        allow_future: bool = False,
        name: str = "",
        **kwargs: Any,
    ) -> None:
        self.with_time = with_time
        self.name = name  # what the messages call it, where the label is a short question
        self.allow_future = allow_future
        kwargs.setdefault("widget", GovukDateWidget(with_time=with_time))
        super().__init__(**kwargs)

    @property
    def _name(self) -> str:
        return self.name or str(self.label or "Date")

    def to_python(self, value: Any) -> date | datetime | None:
        if isinstance(value, (date, datetime)):
            return value
        parts = [str(v or "").strip() for v in (value or [])]
        if not any(parts):
            return None
        names = ["day", "month", "year", "time"][: len(parts)]
        missing = [n for n, p in zip(names, parts, strict=False) if not p and n != "time"]
        if missing:
            raise ValidationError(
                f"{self._name} must include a {' and '.join(missing)}",
                code="incomplete",
                params={"part": missing[0]},  # the box the error summary links to
            )
        try:
            day, month, year = (int(p) for p in parts[:3])
            if year < 1900 or year > 2200:
                raise ValueError
            the_date = date(year, month, day)
        except ValueError:
            raise ValidationError(f"{self._name} must be a real date", code="invalid") from None
        if not self.with_time:
            return the_date
        the_time = time(0, 0)
        if len(parts) > 3 and parts[3]:
            match = _TIME_RE.match(parts[3])
            if not match or int(match[1]) > 23 or int(match[2]) > 59:
                raise ValidationError(
                    f"{self._name} must have a real time in 24-hour format, like 14:30",
                    code="invalid_time",
                    params={"part": "time"},
                )
            the_time = time(int(match[1]), int(match[2]))
        return timezone.make_aware(datetime.combine(the_date, the_time))

    def validate(self, value: Any) -> None:
        if value in self.empty_values and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        if value is None or self.allow_future:
            return
        now = timezone.now()
        too_late = value > now if isinstance(value, datetime) else value > timezone.localdate(now)
        if too_late:
            raise ValidationError(f"{self._name} must be today or in the past", code="future")


class GovukForm(forms.Form):
    """A form whose required-field messages read "Enter ..." / "Select ..." as GOV.UK does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        govuk_error_messages(self)


class GovukModelForm(forms.ModelForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        govuk_error_messages(self)


def govuk_error_messages(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        label = str(field.label or "")
        lowered = label[:1].lower() + label[1:]
        choice_widget = isinstance(field.widget, (forms.Select, forms.RadioSelect))
        multi = isinstance(field.widget, forms.CheckboxSelectMultiple)
        if field.error_messages.get("required") in (None, "This field is required."):
            if multi:
                field.error_messages["required"] = f"Select at least one: {lowered}"
            elif choice_widget:
                field.error_messages["required"] = f"Select {lowered}"
            else:
                field.error_messages["required"] = f"Enter {lowered}"
        default_max = "max_length" not in field.error_messages  # none given by the form
        if isinstance(field, forms.CharField) and field.max_length and default_max:
            field.error_messages["max_length"] = (
                f"{label} must be {field.max_length} characters or fewer"
            )
        if str(field.error_messages.get("invalid_choice", "")).startswith("Select a valid choice"):
            field.error_messages["invalid_choice"] = f"Select a valid option for {lowered}"
