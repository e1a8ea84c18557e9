import time
from decimal import Decimal

import pytest

from xero_sandbox import contract, seed

DEMO = {  # the CRM's demo contacts (name -> email, phone digits)
    "Aroha Ngata": ("aroha.ngata@example.co.nz", "64215550101"),
    "Ben Carter": ("ben.carter@example.com", "64215550102"),
    "Chloe Wu": ("chloe@wu-design.example", "6495550103"),
    "Daniel Smith": ("dan.smith@example.org", "64275550104"),
    "Eva Müller": ("eva.mueller@example.de", "49305550105"),
    "Fetu Tuilagi": ("fetu@example.ws", "64215550106"),
}


def _e164_digits(phone: dict) -> str:
    """Digits of a Xero phone in international form, however it was split (NZ default)."""
    digits = "".join(
        ch for part in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber") for ch in phone[part]
    )
    digits = "".join(ch for ch in digits if ch.isdigit())
    if phone["PhoneNumber"].startswith("+") or phone["PhoneCountryCode"]:
        return digits
    return "64" + digits.removeprefix("0") if digits else ""


@pytest.fixture(scope="module")
def main_org():
    return seed.default_orgs()[0]


def test_same_seed_same_org_and_different_seed_different_ids():
    assert seed.build_org(name="A", seed=3) == seed.build_org(name="A", seed=3)
    first = seed.build_org(name="A", seed=3)["Contacts"][0]["ContactID"]
    assert first != seed.build_org(name="A", seed=4)["Contacts"][0]["ContactID"]


def test_default_orgs_are_two_nz_orgs_with_the_main_demo_first():
    orgs = seed.default_orgs(n_contacts=20)
    assert [o["Organisation"]["Name"] for o in orgs] == [
        "Kiwi Plumbing Ltd",
        "Harbour Electrical Ltd",
    ]
    assert {o["Organisation"]["CountryCode"] for o in orgs} == {"NZ"}
    assert orgs[0]["Organisation"]["OrganisationID"] != orgs[1]["Organisation"]["OrganisationID"]


@pytest.mark.parametrize("region", seed.REGIONS)
def test_active_contact_names_are_unique(region):
    contacts = seed.build_org(name="X", region=region, n_contacts=3000)["Contacts"]
    active = [c["Name"] for c in contacts if c["ContactStatus"] == "ACTIVE"]
    assert len(active) == len(set(active))


def test_contacts_cover_the_awkward_cases(main_org):
    contacts = main_org["Contacts"]
    by_id = {c["ContactID"]: c for c in contacts}
    people = [c for c in contacts if "FirstName" in c]
    companies = [c for c in contacts if "FirstName" not in c]
    assert people and companies
    assert all(c["Name"].startswith(f"{c['FirstName']} {c['LastName']}") for c in people)
    assert all("LastName" not in c for c in companies)
    assert any(c["IsSupplier"] for c in contacts) and any(c["IsCustomer"] for c in contacts)
    merged = [c for c in contacts if "MergedToContactID" in c]
    assert merged
    for c in merged:
        assert c["ContactStatus"] == "ARCHIVED"
        assert by_id[c["MergedToContactID"]]["ContactStatus"] == "ACTIVE"
    assert any(c["ContactStatus"] == "ARCHIVED" and "MergedToContactID" not in c for c in contacts)
    assert any(any(ord(ch) > 0x3000 for ch in c["Name"]) for c in contacts) or any(
        "ā" in c["Name"] or "ō" in c["Name"] for c in contacts
    )
    assert any(
        "EmailAddress" not in c and not any(p["PhoneNumber"] for p in c["Phones"]) for c in contacts
    )
    assert any(
        c["EmailAddress"] != c["EmailAddress"].lower() for c in contacts if "EmailAddress" in c
    )
    assert any(c["ContactPersons"] for c in contacts)
    for c in contacts:
        assert [p["PhoneType"] for p in c["Phones"]] == ["DDI", "DEFAULT", "FAX", "MOBILE"]


def test_unicode_names_include_macrons_accents_and_cjk():
    names = " ".join(c["Name"] for c in seed.build_org(name="X", n_contacts=3000)["Contacts"])
    assert any(ch in names for ch in "āēīōū")
    assert any(ch in names for ch in "éüøñ")
    assert any("\u3040" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in names)


def test_updated_dates_spread_over_the_year_before_seed_now(main_org):
    stamps = [int(c["UpdatedDateUTC"][6:-7]) for c in main_org["Contacts"]]
    now_ms = int(seed.SEED_NOW.timestamp() * 1000)
    year_ms = 365 * 24 * 3600 * 1000
    assert all(now_ms - year_ms <= s <= now_ms for s in stamps)
    assert max(stamps) - min(stamps) > year_ms // 2


def test_demo_collisions_are_planted_as_declared(main_org):
    contacts = main_org["Contacts"]
    for collision in seed.DEMO_COLLISIONS:
        matches = [c for c in contacts if c["Name"] == collision.xero_name]
        assert len(matches) == 1, collision
        xero = matches[0]
        demo_email, demo_phone = DEMO[collision.demo_name]
        same_email = xero.get("EmailAddress", "").lower() == demo_email
        same_phone = demo_phone in {_e164_digits(p) for p in xero["Phones"]}
        assert same_email == ("email" in collision.on), collision
        assert same_phone == ("phone" in collision.on), collision


def test_exact_collision_shapes_the_crm_must_handle(main_org):
    by_name = {c["Name"]: c for c in main_org["Contacts"] if c["ContactStatus"] == "ACTIVE"}
    assert by_name["Aroha Ngata"]["EmailAddress"] == "Aroha.Ngata@Example.co.nz"
    ben_mobile = by_name["Benjamin Carter"]["Phones"][3]
    assert (ben_mobile["PhoneCountryCode"], ben_mobile["PhoneAreaCode"]) == ("64", "21")
    assert ben_mobile["PhoneNumber"] == "555 0102"
    assert "EmailAddress" not in by_name["Chloe Wu"]
    assert by_name["Chloe Wu"]["Phones"][1]["PhoneNumber"] == "+64 9 555 0103"
    assert "FirstName" not in by_name["Wu Design Studio"]
    assert by_name["Eva Müller"]["Phones"][1]["PhoneNumber"] == "+49 30 5550105"


def test_no_accidental_collisions_with_demo_contacts():
    planted = {c.xero_name for c in seed.DEMO_COLLISIONS}
    for org in seed.default_orgs(n_contacts=3000):
        for c in org["Contacts"]:
            email = c.get("EmailAddress", "").lower()
            phones = {_e164_digits(p) for p in c["Phones"]}
            for name, (demo_email, demo_phone) in DEMO.items():
                if email == demo_email or demo_phone in phones:
                    assert c["Name"] in planted, (name, c["Name"])


def test_contact_groups_active_with_members_and_one_deleted(main_org):
    groups = {g["Name"]: g for g in main_org["ContactGroups"]}
    assert {"VIP customers", "Trade accounts", "Suppliers"} <= set(groups)
    assert any(g["Status"] == "DELETED" for g in groups.values())
    ids = {c["ContactID"] for c in main_org["Contacts"] if c["ContactStatus"] == "ACTIVE"}
    for g in groups.values():
        if g["Status"] == "ACTIVE":
            assert g["Contacts"]
            assert {m["ContactID"] for m in g["Contacts"]} <= ids


@pytest.mark.parametrize("region", seed.REGIONS)
def test_tax_rates_have_the_required_kinds(region):
    rates = seed.build_tax_rates(region)
    assert any(
        len(r["TaxComponents"]) > 1 and not any(c["IsCompound"] for c in r["TaxComponents"])
        for r in rates
    )
    assert any(any(c["IsCompound"] for c in r["TaxComponents"]) for r in rates)
    assert any(r["Status"] == "DELETED" for r in rates)
    assert any(not r["CanApplyToRevenue"] for r in rates)
    for r in rates:
        nominal = sum(c["Rate"] for c in r["TaxComponents"])
        assert r["DisplayTaxRate"] == nominal
        assert r["EffectiveRate"] == seed.effective_rate(r["TaxComponents"])


def test_canadian_compound_rate_is_12_35():
    rates = {r["Name"]: r for r in seed.build_tax_rates("CA")}
    compound = rates["GST + compound provincial 7%"]
    assert compound["EffectiveRate"] == Decimal("12.3500")
    assert compound["DisplayTaxRate"] == Decimal("12.0000")
    assert rates["GST + PST (BC) 12%"]["EffectiveRate"] == Decimal("12.0000")


def test_nz_standard_rates():
    rates = {r["TaxType"]: r for r in seed.build_tax_rates("NZ")}
    assert rates["OUTPUT2"]["EffectiveRate"] == Decimal("15.0000")
    assert rates["OUTPUT2"]["CanApplyToRevenue"] is True
    assert rates["INPUT2"]["CanApplyToRevenue"] is False
    assert {"ZERORATEDOUTPUT", "EXEMPTOUTPUT", "NONE", "GSTONIMPORTS"} <= set(rates)


def test_chart_of_accounts(main_org):
    accounts = {a["Code"]: a for a in main_org["Accounts"]}
    assert accounts["090"]["Type"] == "BANK" and accounts["090"]["BankAccountNumber"]
    assert accounts["200"]["Class"] == "REVENUE" and accounts["200"]["TaxType"] == "OUTPUT2"
    pay_to = [a for a in accounts.values() if a["EnablePaymentsToAccount"] and a["Type"] != "BANK"]
    assert {a["Status"] for a in pay_to} == {"ACTIVE", "ARCHIVED"}
    assert any(
        a["Type"] == "CURRENT" and not a["EnablePaymentsToAccount"] for a in accounts.values()
    )
    assert {"DEBTORS", "CREDITORS", "GST"} <= {a.get("SystemAccount") for a in accounts.values()}
    for a in accounts.values():
        assert a["Class"] == seed.ACCOUNT_CLASS[a["Type"]]


@pytest.mark.parametrize("region", seed.REGIONS)
def test_every_emitted_dict_validates_against_the_spec(region):
    org = seed.build_org(name="Spec check", region=region, n_contacts=500, demo_collisions=True)
    contract.validate_schema("Organisations", {"Organisations": [org["Organisation"]]})
    keys = ("Contacts", "ContactGroups", "TaxRates", "Accounts", "Currencies", "Items")
    for key in (*keys, "TrackingCategories", "BrandingThemes"):
        contract.validate_schema(key, {key: org[key]})


def test_no_nulls_anywhere(main_org):
    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        else:
            assert node is not None

    walk(main_org)


def test_100k_contacts_build_quickly():
    started = time.perf_counter()
    org = seed.build_org(name="Big", n_contacts=100_000)
    elapsed = time.perf_counter() - started
    print(f"\n100,000 contacts built in {elapsed:.2f}s")
    assert len(org["Contacts"]) == 100_000


def test_invoice_settings_cover_what_a_sales_invoice_draws_on(main_org):
    assert [c["Code"] for c in main_org["Currencies"]] == ["NZD", "AUD", "USD"]
    assert [c["Code"] for c in seed.default_orgs(n_contacts=1)[1]["Currencies"]] == ["NZD"]
    items = {i["Code"]: i for i in main_org["Items"]}
    assert items["LAB-HR"]["SalesDetails"] == {
        "UnitPrice": Decimal("95.0000"),
        "AccountCode": "200",
        "TaxType": "OUTPUT2",
    }
    assert items["KIT-OLD"]["IsSold"] is False and items["KIT-OLD"]["SalesDetails"] == {}
    categories = main_org["TrackingCategories"]
    assert [c["Status"] for c in categories].count("ACTIVE") == 2 and len(categories) <= 4
    assert any(o["Status"] == "ARCHIVED" for c in categories for o in c["Options"])
    assert [(t["Name"], t["SortOrder"]) for t in main_org["BrandingThemes"]][0] == ("Standard", 0)


def test_seeding_data_keeps_the_rates_numbers(xero_sandbox, http):
    # SandboxHandle.seed(data=...) sent Decimals as strings ("15.0000"), against the spec.
    from tests.xero_sandbox.conftest import api

    org = seed.build_org(name="Rates Ltd", n_contacts=1, seed=9)
    tenant = xero_sandbox.seed(data=[org])[0]["tenantId"]
    stored = {r["TaxType"]: r for r in xero_sandbox.state(tenant, "tax_rates")["TaxRates"]}
    assert stored["OUTPUT2"]["DisplayTaxRate"] == 15 and not isinstance(
        stored["OUTPUT2"]["DisplayTaxRate"], str
    )
    assert stored["TAX001"]["TaxComponents"][1]["Rate"] == 2
    items = xero_sandbox.state(tenant, "items")["Items"]
    assert all(isinstance(i["SalesDetails"].get("UnitPrice", 0), int | float) for i in items)
    token = xero_sandbox.token_for(tenant)
    answer = api(http, xero_sandbox, "GET", "/TaxRates", token, tenant)
    contract.validate_response(
        "GET", "/api.xro/2.0/TaxRates", answer.status, dict(answer.headers), answer.data
    )
    assert b'"DisplayTaxRate":15.0000' in answer.data


def test_rates_seeded_as_text_are_stored_as_numbers(xero_sandbox):
    org = seed.build_org(name="Text Rates Ltd", n_contacts=1, seed=9)
    for rate in org["TaxRates"]:
        rate["DisplayTaxRate"] = str(rate["DisplayTaxRate"])
        for component in rate["TaxComponents"]:
            component["Rate"] = str(component["Rate"])
    tenant = xero_sandbox.control("POST", "/seed", {"data": [org]})["tenants"][0]["tenantId"]
    stored = {r["TaxType"]: r for r in xero_sandbox.state(tenant, "tax_rates")["TaxRates"]}
    assert stored["OUTPUT2"]["DisplayTaxRate"] == 15
    assert stored["OUTPUT2"]["TaxComponents"][0]["Rate"] == 15
