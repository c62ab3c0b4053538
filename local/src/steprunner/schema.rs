//! The Arrow schema of a dataset's validated files: what the job SQL's view
//! of the dataset is typed as (declared columns, then capture columns).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use edba_tasks::project::{ColumnType, DatasetSpec};

/// The Arrow type of a declared column: integers whose declared range fits
/// 32 bits are `Int32` (`INT`), others `Int64`; timestamps are UTC
/// microseconds, as validate normalises them; `enum` and `json` are text.
pub fn arrow_type(ty: &ColumnType) -> DataType {
    match ty {
        ColumnType::String(_) | ColumnType::Enum { .. } | ColumnType::Json => DataType::Utf8,
        ColumnType::Int { min, max } if *min >= i64::from(i32::MIN) && *max <= i64::from(i32::MAX) => DataType::Int32,
        ColumnType::Int { .. } => DataType::Int64,
        ColumnType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale as i8),
        ColumnType::Date => DataType::Date32,
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::Bool => DataType::Boolean,
    }
}

/// The Arrow type of a manifest column's Spark SQL type
/// ([`ColumnType::sql_type`]); `None` for any other text.
pub fn arrow_type_of_sql(sql: &str) -> Option<DataType> {
    Some(match sql {
        "STRING" => DataType::Utf8,
        "INT" => DataType::Int32,
        "BIGINT" => DataType::Int64,
        "DATE" => DataType::Date32,
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "BOOLEAN" => DataType::Boolean,
        _ => {
            let (p, s) = sql.strip_prefix("DECIMAL(")?.strip_suffix(')')?.split_once(',')?;
            let (precision, scale): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
            if precision == 0 || precision > 38 || scale < 0 || scale as u8 > precision {
                return None;
            }
            DataType::Decimal128(precision, scale)
        }
    })
}

/// The columns of a validated file of `dataset`, typed. A column is nullable
/// when declared so; capture columns never are.
pub fn dataset_schema(dataset: &DatasetSpec) -> SchemaRef {
    let mut fields: Vec<Field> =
        dataset.columns.iter().map(|c| Field::new(&c.name, arrow_type(&c.ty), c.nullable)).collect();
    if dataset.capture_columns {
        fields.extend(dataset.files.captures().iter().map(|name| Field::new(name, DataType::Utf8, false)));
    }
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use edba_tasks::project::Project;

    #[test]
    fn the_sample_datasets_keep_the_runner_schemas() {
        let sample = Project::sample();
        let sales = dataset_schema(sample.dataset("sales").unwrap());
        let types: Vec<(&str, &DataType)> = sales.fields().iter().map(|f| (f.name().as_str(), f.data_type())).collect();
        assert_eq!(
            types,
            [
                ("store_id", &DataType::Utf8),
                ("amount", &DataType::Decimal128(14, 2)),
                ("trans_type", &DataType::Int32),
                ("item_id", &DataType::Utf8),
                ("trans_date", &DataType::Date32),
            ]
        );
        let items = dataset_schema(sample.dataset("items").unwrap());
        assert_eq!(items.fields().len(), 3);
    }

    #[test]
    fn manifest_types_map_to_the_same_arrow_types_as_the_declarations() {
        for dataset in &Project::sample().datasets {
            let schema = dataset_schema(dataset);
            for (column, field) in dataset.sql_columns().iter().zip(schema.fields()) {
                assert_eq!(arrow_type_of_sql(&column.ty).as_ref(), Some(field.data_type()), "{}", column.name);
            }
        }
        assert_eq!(arrow_type_of_sql("DECIMAL(12,2)"), Some(DataType::Decimal128(12, 2)));
        for bad in ["", "VARCHAR", "DECIMAL(40,2)", "DECIMAL(2,3)", "DECIMAL(x)", "string"] {
            assert_eq!(arrow_type_of_sql(bad), None, "{bad}");
        }
    }
}
