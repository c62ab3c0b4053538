use super::*;

fn errors(text: &str) -> Vec<ProjectError> {
    Project::parse(text).expect_err("the project is not valid").0
}

fn one_error(text: &str, want: &str) -> ProjectError {
    let errors = errors(text);
    assert!(errors.iter().any(|e| e.to_string().contains(want)), "no error says {want:?}: {errors:#?}");
    errors.into_iter().find(|e| e.to_string().contains(want)).unwrap()
}

const ORDERS: &str = r#"
[[dataset]]
name = "orders"
files = "orders/{region}-{day}.csv"
captures = { region = "[A-Z]{2}" }
format = "csv"
columns = [
  { name = "order_id",  type = "string", pattern = "[A-Z0-9-]{1,20}" },
  { name = "placed_at", type = "timestamp" },
  { name = "status",    type = "enum", values = ["placed", "shipped", "cancelled"] },
  { name = "price",     type = "decimal(12,2)" },
  { name = "quantity",  type = "int", min = 1, max = 1000 },
  { name = "coupon",    type = "string", nullable = true, max_length = 32 },
]

[[dataset]]
name = "partner"
files = "partner/*.jsonl"
format = "jsonl"
columns = [{ name = "sku", type = "string" }, { name = "attrs", type = "json", nullable = true }]

[[table]]
name = "daily_revenue"
key = ["region", "order_day"]
"#;

#[test]
fn the_sample_declares_sales_and_items_as_they_always_were() {
    let sample = Project::sample();
    let names: Vec<&str> = sample.datasets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["sales", "items"]);
    let sales = sample.dataset("sales").unwrap();
    assert_eq!(sales.output_columns(), ["store_id", "amount", "trans_type", "item_id", "trans_date"]);
    assert_eq!(sales.format, FileFormat::Delimited { delimiter: b'\t', quote: None, header: HeaderMode::Optional });
    assert_eq!(sales.skip_prefixes, [b"-".to_vec()]);
    let items = sample.dataset("items").unwrap();
    assert_eq!(items.output_columns(), ["item_id", "item_name", "effective_date"]);
    let tables: Vec<&str> = sample.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tables, ["saleitemsummary", "salessummary"]);
}

#[test]
fn a_declared_project_matches_keys_with_captures() {
    let project = Project::parse(ORDERS).unwrap();
    let m = project.match_key("incoming/orders/EU-2026-11-30.csv").unwrap();
    assert_eq!(m.dataset.name, "orders");
    assert_eq!(m.captures, ["EU", "2026-11-30"]);
    assert_eq!(m.stem, "orders/EU-2026-11-30");
    assert_eq!(m.partition, None);
    assert_eq!(
        m.dataset.output_columns(),
        ["order_id", "placed_at", "status", "price", "quantity", "coupon", "region", "day"]
    );
    assert_eq!(project.match_key("incoming/partner/feed.jsonl").unwrap().dataset.name, "partner");
    let near = project.match_key("incoming/orders/eu-1.csv").unwrap_err();
    assert!(
        near.reason.contains("not a file of dataset orders: the region part \"eu\" does not match [A-Z]{2}"),
        "{near}"
    );
    let unknown = project.match_key("incoming/returns/x.csv").unwrap_err();
    assert!(unknown.reason.contains("matches no dataset"), "{unknown}");
    assert!(unknown.reason.contains("orders/{region}-{day}.csv (orders)"), "{unknown}");
    assert!(project.match_key("validated/orders/EU-1.csv").is_err());
    let csv = project.dataset("orders").unwrap();
    assert_eq!(csv.format, FileFormat::Delimited { delimiter: b',', quote: Some(b'"'), header: HeaderMode::Required });
}

#[test]
fn overlapping_datasets_are_refused_with_a_key_both_match() {
    let text = format!(
        "{ORDERS}\n[[dataset]]\nname = \"eu_orders\"\nfiles = \"orders/EU-*.csv\"\nformat = \"csv\"\ncolumns = [{{ name = \"a\", type = \"int\" }}]\n"
    );
    let e = one_error(&text, "overlap dataset orders's");
    assert_eq!(e.place.as_deref(), Some("dataset eu_orders"));
    assert!(e.message.contains("incoming/orders/EU-"), "{e}");
    let line = text.lines().position(|l| l.contains("name = \"eu_orders\"")).unwrap();
    assert_eq!(e.line, Some(line), "the line of its [[dataset]]");
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let text = r#"
[[dataset]]
name = "Orders"
files = "orders/{x}.csv"
partition = "y"
format = "csv"
quote = ",,"
max_reject_share = 2.0
columns = [
  { name = "a", type = "int", max_length = 3 },
  { name = "a", type = "decimal(40,2)" },
  { name = "x", type = "string" },
]

[[table]]
name = "t"
key = []
"#;
    let all = errors(text);
    for want in [
        "a dataset name is a lower-case letter",
        "`partition` names {y}",
        "`quote` must be one ASCII character",
        "`max_reject_share` must be between 0 and 1",
        "column `a`: `max_length` does not apply",
        "column `a`: type \"decimal(40,2)\"",
        "column `a` is declared twice",
        "capture {x} is also a declared column",
        "`key` must name at least one column",
    ] {
        assert!(all.iter().any(|e| e.to_string().contains(want)), "no error says {want:?}: {all:#?}");
    }
    assert!(all.iter().filter(|e| e.place.as_deref() == Some("dataset Orders")).all(|e| e.line == Some(2)));
    assert!(all.iter().any(|e| e.place.as_deref() == Some("table t") && e.line == Some(15)));
}

#[test]
fn syntax_and_shape_errors_name_the_line() {
    let e = one_error("[[dataset]]\nname = \"a\"\nfiles = 3\n", "invalid type");
    assert_eq!(e.line, Some(3));
    one_error("[[dataset]]\nname = \"a\"\nfiles = \"a.csv\"\nformat = \"xml\"\ncolumns = []\n", "unknown variant");
    one_error("[[datasets]]\n", "unknown field");
    one_error("", "declares no [[dataset]]");
}
