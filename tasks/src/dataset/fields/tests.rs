use super::*;
use crate::project::{Project, RawColumn};

/// The sample's columns by name (`amount`, `trans_type`, `trans_date`, `store_id`, `item_name`).
fn sample(name: &str) -> ColumnSpec {
    let project = Project::sample();
    project
        .datasets
        .iter()
        .flat_map(|d| d.columns.iter())
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("the sample has no column {name}"))
        .clone()
}

fn declared(ty: &str, edit: impl FnOnce(&mut RawColumn)) -> ColumnSpec {
    let mut raw: RawColumn = toml::from_str(&format!("name = \"c\"\ntype = \"{ty}\"")).unwrap();
    edit(&mut raw);
    raw.build().unwrap()
}

/// Writes the field, and checks that `check_field` agrees on validity and
/// on whether the value was already normalised.
fn field(column: &ColumnSpec, value: &str) -> Result<String, FieldError> {
    let mut out = Vec::new();
    let written = write_field(column, value.as_bytes(), &mut out).map(|()| String::from_utf8(out).unwrap());
    let checked = check_field(column, value.as_bytes());
    match (&written, checked) {
        (Ok(w), Ok(normalised)) => assert_eq!(normalised, w == value, "{} {value:?}", column.name),
        (Err(a), Err(b)) => assert_eq!(*a, b, "{} {value:?}", column.name),
        _ => panic!("check_field and write_field disagree on {} {value:?}", column.name),
    }
    written
}

fn reason(column: &ColumnSpec, value: &str) -> String {
    field(column, value).map(|v| panic!("{value:?} is valid: {v}")).unwrap_err().describe(column).to_string()
}

#[test]
fn amounts() {
    use FieldError::*;
    let amount = sample("amount");
    let cases: &[(&str, Result<&str, FieldError>)] = &[
        ("12.50", Ok("12.50")),
        ("12.5", Ok("12.50")),
        ("12", Ok("12.00")),
        ("-3.1", Ok("-3.10")),
        ("0", Ok("0.00")),
        ("-0.00", Ok("0.00")),
        ("007.05", Ok("7.05")),
        ("999999999999.99", Ok("999999999999.99")),
        ("-999999999999", Ok("-999999999999.00")),
        ("000000000000001", Ok("1.00")),
        ("1000000000000", Err(DecimalTooLarge)),
        ("-1000000000000.00", Err(DecimalTooLarge)),
        ("12.345", Err(DecimalFraction)),
        ("", Err(Empty)),
        ("-", Err(DecimalSyntax)),
        ("+-", Err(DecimalSyntax)),
        ("+5", Err(DecimalSyntax)),
        ("--5", Err(DecimalSyntax)),
        ("NaN", Err(DecimalSyntax)),
        ("inf", Err(DecimalSyntax)),
        ("-inf", Err(DecimalSyntax)),
        ("1e5", Err(DecimalSyntax)),
        (".5", Err(DecimalSyntax)),
        ("5.", Err(DecimalSyntax)),
        ("1.2.3", Err(DecimalSyntax)),
        ("1,50", Err(DecimalSyntax)),
        (" 1.50", Err(DecimalSyntax)),
        ("1.50 ", Err(DecimalSyntax)),
        ("１２", Err(DecimalSyntax)),
    ];
    for (input, want) in cases {
        assert_eq!(field(&amount, input).as_deref().map_err(|e| *e), *want, "{input:?}");
    }
    assert_eq!(reason(&amount, "12.345"), "has more than 2 fraction digits");
    assert_eq!(reason(&amount, "1000000000000"), "is too large (the absolute value must be below 10^12)");
    assert!(reason(&amount, "x").contains("up to 2 fraction digits, e.g. -12.50"));
    let whole = declared("decimal(5,0)", |_| {});
    assert_eq!(field(&whole, "0042"), Ok("42".into()));
    assert_eq!(field(&whole, "1.5"), Err(DecimalFraction));
    assert_eq!(field(&whole, "123456"), Err(DecimalTooLarge));
    assert!(reason(&whole, "x").contains("e.g. -12)"));
    let fine = declared("decimal(38,10)", |_| {});
    assert_eq!(field(&fine, "-1.5"), Ok("-1.5000000000".into()));
}

#[test]
fn ints() {
    use FieldError::*;
    let trans_type = sample("trans_type");
    let cases: &[(&str, Result<&str, FieldError>)] = &[
        ("4", Ok("4")),
        ("99", Ok("99")),
        ("04", Ok("4")),
        ("1", Ok("1")),
        ("0", Err(IntRange)),
        ("00", Err(IntRange)),
        ("100", Err(IntRange)),
        ("99999999999999999999999", Err(IntRange)),
        ("-4", Err(IntRange)),
        ("+4", Err(IntSyntax)),
        ("4.0", Err(IntSyntax)),
        ("", Err(Empty)),
    ];
    for (input, want) in cases {
        assert_eq!(field(&trans_type, input).as_deref().map_err(|e| *e), *want, "{input:?}");
    }
    assert_eq!(reason(&trans_type, "100"), "is out of range (1-99)");
    let any = declared("int", |_| {});
    assert_eq!(field(&any, "-0"), Ok("0".into()));
    assert_eq!(field(&any, "-9223372036854775808"), Ok("-9223372036854775808".into()));
    assert_eq!(field(&any, "9223372036854775808"), Err(IntRange));
}

#[test]
fn dates() {
    use FieldError::*;
    let date = sample("trans_date");
    let cases: &[(&str, Result<(), FieldError>)] = &[
        ("2016-01-31", Ok(())),
        ("2016-02-29", Ok(())),
        ("2000-02-29", Ok(())),
        ("2015-02-29", Err(DateNotADay)),
        ("1900-02-29", Err(DateNotADay)),
        ("2016-02-30", Err(DateNotADay)),
        ("2016-04-31", Err(DateNotADay)),
        ("2016-13-01", Err(DateNotADay)),
        ("2016-00-10", Err(DateNotADay)),
        ("2016-01-00", Err(DateNotADay)),
        ("0000-01-01", Err(DateNotADay)),
        ("9999-12-31", Ok(())),
        ("2016-1-01", Err(DateSyntax)),
        ("2016/01/01", Err(DateSyntax)),
        ("20160101", Err(DateSyntax)),
        ("2016-01-01T00:00", Err(DateSyntax)),
        ("", Err(Empty)),
    ];
    for (input, want) in cases {
        assert_eq!(field(&date, input).map(|_| ()), *want, "{input:?}");
    }
}

#[test]
fn ids_and_names() {
    let id = sample("store_id");
    let name = sample("item_name");
    assert_eq!(field(&id, "IL-101_a"), Ok("IL-101_a".into()));
    assert_eq!(field(&id, &"x".repeat(25)), Ok("x".repeat(25)));
    assert_eq!(field(&id, &"x".repeat(26)), Err(FieldError::TooLong(26)));
    assert_eq!(reason(&id, &"x".repeat(26)), "is 26 characters long (at most 25 allowed)");
    assert_eq!(field(&id, "a b"), Err(FieldError::BadByte(b' ')));
    assert!(reason(&id, "a b").starts_with("contains ' '"));
    assert_eq!(field(&id, "a,b"), Err(FieldError::BadByte(b',')));
    assert_eq!(field(&id, "é"), Err(FieldError::BadByte(0xC3)));
    assert_eq!(field(&id, ""), Err(FieldError::Empty));
    assert_eq!(field(&name, "  Café, \"best\" "), Ok("\"Café, \"\"best\"\"\"".into()));
    assert_eq!(field(&name, "   "), Err(FieldError::Blank));
    assert_eq!(field(&name, "a\u{7}b"), Err(FieldError::Control));
    assert_eq!(field(&name, &"é".repeat(200)), Ok("é".repeat(200)));
    assert_eq!(field(&name, &"é".repeat(201)), Err(FieldError::TooLong(201)));
}

#[test]
fn strings_with_patterns_lengths_and_nulls() {
    let code = declared("string", |c| {
        c.pattern = Some("[A-Z0-9-]{1,20}".into());
        c.min_length = Some(3);
    });
    assert_eq!(field(&code, "AB-12"), Ok("AB-12".into()));
    assert_eq!(field(&code, "ab-12"), Err(FieldError::Pattern));
    assert_eq!(reason(&code, "ab-12"), "does not match the pattern [A-Z0-9-]{1,20}");
    assert_eq!(field(&code, "AB"), Err(FieldError::TooShort(2)));
    assert_eq!(field(&code, "AB\n"), Err(FieldError::Control));
    let coupon = declared("string", |c| {
        c.nullable = true;
        c.max_length = Some(32);
        c.trim = Some(true);
    });
    assert_eq!(field(&coupon, ""), Ok(String::new()));
    assert_eq!(field(&coupon, "  "), Ok(String::new()), "blank is NULL for a nullable trimmed column");
    assert_eq!(field(&coupon, " SAVE10 "), Ok("SAVE10".into()));
}

#[test]
fn timestamps_are_normalised_to_utc() {
    let ts = declared("timestamp", |_| {});
    assert_eq!(field(&ts, "2026-11-30T08:15:00Z"), Ok("2026-11-30T08:15:00Z".into()));
    assert_eq!(field(&ts, "2026-11-30T09:15:00+01:00"), Ok("2026-11-30T08:15:00Z".into()));
    assert_eq!(field(&ts, "2026-11-30 23:15:00-02:00"), Ok("2026-12-01T01:15:00Z".into()));
    assert_eq!(field(&ts, "2026-11-30T08:15:00.5Z"), Ok("2026-11-30T08:15:00.500000Z".into()));
    assert_eq!(field(&ts, "2026-11-30T08:15:00.123456Z"), Ok("2026-11-30T08:15:00.123456Z".into()));
    assert_eq!(field(&ts, "2026-11-30T08:15:00.1234567Z"), Err(FieldError::TimestampFraction));
    assert_eq!(field(&ts, "2026-11-30T08:15:00"), Err(FieldError::TimestampNoOffset));
    assert_eq!(field(&ts, "2026-02-30T08:15:00Z"), Err(FieldError::TimestampSyntax));
    assert_eq!(field(&ts, "yesterday"), Err(FieldError::TimestampSyntax));
}

#[test]
fn bools_enums_and_json() {
    let b = declared("bool", |_| {});
    for (input, want) in [("true", "true"), ("YES", "true"), ("1", "true"), ("f", "false"), ("No", "false")] {
        assert_eq!(field(&b, input), Ok(want.into()), "{input}");
    }
    assert_eq!(field(&b, "maybe"), Err(FieldError::BoolSyntax));
    let status = declared("enum", |c| c.values = Some(vec!["placed".into(), "shipped".into()]));
    assert_eq!(field(&status, "shipped"), Ok("shipped".into()));
    assert_eq!(field(&status, "Shipped"), Err(FieldError::EnumValue));
    assert_eq!(reason(&status, "lost"), "is not one of: placed, shipped");
    let json = declared("json", |_| {});
    assert_eq!(field(&json, "{ \"a\": [1, 2] }"), Ok("\"{\"\"a\"\":[1,2]}\"".into()));
    assert_eq!(field(&json, "{"), Err(FieldError::JsonSyntax));
}
