from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from events.models import Delivery, Event, Webhook
from events.selectors import FEED_DEFAULT_LIMIT, FEED_MAX_LIMIT
from events.services import EVENT_TYPES

MAX_PATTERNS = 50
_PATTERN_HELP = f'An event type ({", ".join(EVENT_TYPES)}), a "prefix.*" pattern such as "order.*", or "*".'


class EventSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", help_text="The same on every delivery (webhook-id).")
    sequence = serializers.IntegerField(
        allow_null=True,
        help_text="Increasing in the order events become visible: page the feed with ?after=. Given a moment "
        "after the event commits (null until then, in an order's timeline only).",
    )
    type = serializers.ChoiceField(choices=EVENT_TYPES)
    data = serializers.DictField(help_text="The resource as the API answers it (an order, a product, a stock row).")

    class Meta:
        model = Event
        fields = ["id", "sequence", "type", "created_at", "data"]
        read_only_fields = fields


SEQUENCE_MAX = 2**63 - 1  # a PostgreSQL bigint: a larger ?after= is a 400, never a 500


class EventFeedQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, max_value=SEQUENCE_MAX, default=0, help_text="The last sequence already read."
    )
    limit = serializers.IntegerField(min_value=1, max_value=FEED_MAX_LIMIT, default=FEED_DEFAULT_LIMIT)
    type = serializers.CharField(required=False, max_length=64, help_text='An event type or "prefix.*".')


@extend_schema_serializer(many=False)  # the feed answers one object, not a list of them
class EventFeedSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_after = serializers.IntegerField(
        help_text="Pass as ?after= for the next page: the last sequence answered, or ?after= itself when none."
    )


class WebhookSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.CharField(max_length=64, help_text=_PATTERN_HELP))

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "is_active", "description", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="whsec_… Shown only here: store it to verify signatures.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, help_text="http or https; private addresses are refused.")
    events = serializers.ListField(
        child=serializers.CharField(max_length=64, help_text=_PATTERN_HELP), min_length=1, max_length=MAX_PATTERNS
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class WebhookUpdateSerializer(serializers.Serializer):
    """Partial: only the fields sent change."""

    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64, help_text=_PATTERN_HELP),
        min_length=1,
        max_length=MAX_PATTERNS,
        required=False,
    )
    is_active = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(source="event.uuid")
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(
        choices=Delivery.Status.choices, help_text="pending (due at next_attempt_at), succeeded or failed."
    )
    next_attempt_at = serializers.DateTimeField(
        allow_null=True,
        help_text="Pending: when it is due. Failed: when the next attempt is due; null once given up.",
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "attempt",
            "status",
            "status_code",
            "duration_ms",
            "error",
            "attempted_at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields
