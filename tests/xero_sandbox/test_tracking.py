"""Tracking categories: what Xero lists, changes made in Xero, and Tracking on invoice lines
(at most two categories, each once, with active options)."""

import pytest

from tests.xero_sandbox.conftest import invoice_body, line
from xero_sandbox.handle import ControlError


@pytest.fixture
def categories(xero_sandbox, raw) -> dict:
    held = xero_sandbox.state(raw.tenant, "tracking_categories")["TrackingCategories"]
    return {c["Name"]: c for c in held}


def option(category: dict, name: str) -> dict:
    return next(o for o in category["Options"] if o["Name"] == name)


def tracked(raw, xero_sandbox, tracking) -> tuple[int, dict]:
    who = xero_sandbox.contacts(raw.tenant)[0]["ContactID"]
    return raw.invoice(invoice_body(who, line(Tracking=tracking)))


def test_only_active_categories_and_options_are_listed_unless_archived_ones_are_asked(raw):
    _, data = raw("GET", "/TrackingCategories")
    listed = {c["Name"]: [o["Name"] for o in c["Options"]] for c in data["TrackingCategories"]}
    assert listed == {"Region": ["North", "South"], "Department": ["Residential", "Commercial"]}
    _, data = raw("GET", "/TrackingCategories", includeArchived="true")
    listed = {c["Name"]: [o["Name"] for o in c["Options"]] for c in data["TrackingCategories"]}
    assert listed["Region"] == ["North", "South", "West Coast"]
    assert listed["Project (old)"] == ["Harbour build"]


def test_categories_and_options_change_in_xero_within_its_limits(xero_sandbox, raw, categories):
    tenant = raw.tenant
    with pytest.raises(ControlError, match="2 active tracking categories"):
        xero_sandbox.add_tracking_category(tenant, "Job", ["J-1"])
    region = categories["Region"]
    xero_sandbox.set_tracking_category_status(tenant, region["TrackingCategoryID"], "ARCHIVED")
    job = xero_sandbox.add_tracking_category(tenant, "Job", ["J-1", "J-2"])
    assert [o["Name"] for o in job["Options"]] == ["J-1", "J-2"]
    with pytest.raises(ControlError, match="4 in all"):
        xero_sandbox.add_tracking_category(tenant, "Fifth", [])
    added = xero_sandbox.add_tracking_option(tenant, job["TrackingCategoryID"], "J-3")
    xero_sandbox.set_tracking_option_status(
        tenant, job["TrackingCategoryID"], added["TrackingOptionID"], "ARCHIVED"
    )
    _, data = raw("GET", f"/TrackingCategories/{job['TrackingCategoryID']}")
    assert [(o["Name"], o["Status"]) for o in data["TrackingCategories"][0]["Options"]] == [
        ("J-1", "ACTIVE"),
        ("J-2", "ACTIVE"),
        ("J-3", "ARCHIVED"),
    ]
    _, data = raw("GET", "/TrackingCategories")
    assert [c["Name"] for c in data["TrackingCategories"]] == ["Department", "Job"]


def test_lines_name_tracking_by_name_or_id_and_xero_stores_both(xero_sandbox, raw, categories):
    region, department = categories["Region"], categories["Department"]
    commercial = option(department, "Commercial")
    status, invoice = tracked(
        raw,
        xero_sandbox,
        [
            {"Name": "region", "Option": "north"},  # names match whatever their case
            {
                "TrackingCategoryID": department["TrackingCategoryID"],
                "TrackingOptionID": commercial["TrackingOptionID"],
            },
        ],
    )
    assert status == 200
    assert invoice["LineItems"][0]["Tracking"] == [
        {
            "Name": "Region",
            "Option": "North",
            "TrackingCategoryID": region["TrackingCategoryID"],
            "TrackingOptionID": option(region, "North")["TrackingOptionID"],
        },
        {
            "Name": "Department",
            "Option": "Commercial",
            "TrackingCategoryID": department["TrackingCategoryID"],
            "TrackingOptionID": commercial["TrackingOptionID"],
        },
    ]


def test_at_most_two_tracking_categories_a_line(xero_sandbox, raw, categories):
    xero_sandbox.set_tracking_category_status(
        raw.tenant, categories["Region"]["TrackingCategoryID"], "ARCHIVED"
    )
    xero_sandbox.add_tracking_category(raw.tenant, "Job", ["J-1"])
    three = [
        {"Name": "Region", "Option": "North"},
        {"Name": "Department", "Option": "Residential"},
        {"Name": "Job", "Option": "J-1"},
    ]
    status, answer = tracked(raw, xero_sandbox, three)
    assert status == 400
    assert answer["errors"] == ["Any LineItem can have a maximum of 2 TrackingCategory elements."]


@pytest.mark.parametrize(
    ("tracking", "message"),
    [
        ([{"Name": "Region", "Option": "West Coast"}], "Tracking option 'West Coast' is archived."),
        (
            [{"Name": "Project (old)", "Option": "Harbour build"}],
            "Tracking category 'Project (old)' is archived.",
        ),
        ([{"Name": "Colour", "Option": "Red"}], "Tracking category 'Colour' is not valid."),
        (
            [{"Name": "Region", "Option": "East"}],
            "Tracking option 'East' is not valid for tracking category 'Region'.",
        ),
        (
            [{"Name": "Region", "Option": "North"}, {"Name": "Region", "Option": "South"}],
            "Tracking category 'Region' can only be used once on a line.",
        ),
    ],
    ids=["archived-option", "archived-category", "unknown-category", "unknown-option", "twice"],
)
def test_tracking_must_name_an_active_option_of_an_active_category(
    xero_sandbox, raw, tracking, message
):
    status, answer = tracked(raw, xero_sandbox, tracking)
    assert status == 400 and answer["errors"] == [message]
