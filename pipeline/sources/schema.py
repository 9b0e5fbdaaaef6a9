"""The operational database's tables and columns that a run reads, and their vocabularies.

One place lists what extract expects, so a missing table or column fails the run at extract
with its name, and the typed parsing in validate_raw knows each column's kind. The words a
text column may hold (genders, course categories, channels, consent purposes, request kinds)
are defined here once: the raw GX suites receive them as parameters (``SUITE_VOCABULARIES``),
the demo generator and the reference hierarchies import them, and ``tests/test_vocabularies.py``
ties the shipped hierarchy files to them.
"""

from __future__ import annotations

from transforms.customer_requests import CORRECTABLE
from transforms.parse import ColumnKind

SOURCE_TABLES: dict[str, dict[str, ColumnKind]] = {
    "stores": {
        "store_id": "int",
        "store_name": "str",
        "prefecture": "str",
        "city": "str",
        "opened_on": "date",
    },
    "customers": {
        "customer_id": "int",
        "family_name": "str",
        "given_name": "str",
        "family_name_kana": "str",
        "given_name_kana": "str",
        "gender": "str",
        "birth_date": "date",
        "postal_code": "str",
        "prefecture": "str",
        "city": "str",
        "street_address": "str",
        "phone": "str",
        "email": "str",
        "registered_on": "date",
        "home_store_id": "int",
    },
    "service_usage": {
        "usage_id": "int",
        "customer_id": "int",
        "store_id": "int",
        "visit_date": "date",
        "course_category": "str",
        "amount_yen": "int",
    },
    "questionnaire_responses": {
        "response_id": "int",
        "customer_id": "int",
        "answered_on": "date",
        "satisfaction_overall": "int",
        "satisfaction_staff": "int",
        "satisfaction_cleanliness": "int",
        "satisfaction_value": "int",
        "channel": "str",
        "comment": "str",
    },
    "campaign_applications": {
        "application_id": "int",
        "customer_id": "int",
        "campaign_code": "str",
        "applied_on": "date",
        "channel": "str",
    },
    "mail_subscriptions": {
        "subscription_id": "int",
        "customer_id": "int",
        "list_name": "str",
        "email": "str",
        "subscribed_on": "date",
        "unsubscribed_on": "date",
    },
    "consents": {
        "consent_id": "int",
        "customer_id": "int",
        "purpose": "str",
        "granted": "bool",
        "policy_version": "str",
        "recorded_at": "timestamp",
    },
    "customer_requests": {
        "request_id": "int",
        "customer_id": "int",
        "request_type": "str",
        "requested_on": "date",
        "field": "str",
        "new_value": "str",
        "status": "str",
    },
    "web_access_log": {
        "log_id": "int",
        "accessed_at": "timestamp",
        "path": "str",
        "client_hash": "str",
        "user_agent": "str",
    },
}

PRIMARY_KEYS: dict[str, str] = {table: next(iter(cols)) for table, cols in SOURCE_TABLES.items()}

# customers.gender (also the leaves of data/hierarchies/customers_hierarchy_gender.csv).
GENDERS: tuple[str, ...] = ("F", "M", "X")
# service_usage.course_category, the salon's menu: the course categories a table reports
# (every category, used or not), in the order of the released tables.
COURSE_CATEGORIES: tuple[str, ...] = ("body", "bridal", "eyelash", "facial", "hair_removal", "nail")
# questionnaire_responses.channel and campaign_applications.channel.
CHANNELS: tuple[str, ...] = ("store", "web", "app", "mail")
# mail_subscriptions.list_name.
MAIL_LISTS: tuple[str, ...] = ("new_information", "mail_magazine")
# consents.purpose (transforms.customer_requests honours "statistics").
CONSENT_PURPOSES: tuple[str, ...] = ("service", "statistics", "partner_marketing", "mail_magazine")
# customer_requests.request_type and .status; .field of a correction is one of CORRECTABLE
# (transforms.customer_requests, next to the rule that checks each field's new value).
REQUEST_TYPES: tuple[str, ...] = ("deletion", "correction", "disclosure")
REQUEST_STATUSES: tuple[str, ...] = ("pending", "completed")

# The raw suites' vocabulary parameters ({"$PARAMETER": "genders"} in a value_set): whoever
# runs a raw suite passes these, so no suite file repeats a word list.
SUITE_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "genders": GENDERS,
    "course_categories": COURSE_CATEGORIES,
    "channels": CHANNELS,
    "consent_purposes": CONSENT_PURPOSES,
    "request_types": REQUEST_TYPES,
    "request_statuses": REQUEST_STATUSES,
    "correctable_fields": CORRECTABLE,
}

# The raw GX suite of each table (tables without one are only parsed).
RAW_SUITES = {
    "stores": "raw_stores",
    "customers": "raw_customers",
    "service_usage": "raw_usage",
    "questionnaire_responses": "raw_questionnaires",
    "customer_requests": "raw_requests",
    "consents": "raw_consents",
    "web_access_log": "raw_web_access_log",
}
# Tables whose rows belong to a customer: validated against the clean customers.
CUSTOMER_OWNED = (
    "service_usage",
    "questionnaire_responses",
    "campaign_applications",
    "mail_subscriptions",
    "consents",
    "customer_requests",
)
# Rows dated after the run date are not yet in scope for that night (a backfill or a rerun
# of an old night sees newer rows in today's snapshot): excluded and counted, not quarantined.
SCOPE_DATES = {
    "customers": "registered_on",
    "service_usage": "visit_date",
    "questionnaire_responses": "answered_on",
}
