//! The Arrow schema of a dataset's validated files: what the job SQL's view
//! of the dataset is typed as (declared columns, then capture columns). The
//! types come from the Spark SQL types a run's manifest carries
//! ([`DatasetSpec::sql_columns`]), so the local step and the EMR step can
//! never type a column differently.

use datafusion::arrow::datatypes::DataType;

// One mapping for validate's Parquet and the runner's views: the tasks' own.
pub use edba_tasks::dataset::parquet::{arrow_schema as dataset_schema, arrow_type_of_sql, schema_of};

/// The warehouse column type (a Spark SQL type, as [`arrow_type_of_sql`]
/// reads them) that holds a query output column of this Arrow type without
/// loss; `None` for types no warehouse column holds (lists, structs,
/// unsigned 64-bit integers, intervals, binary).
pub fn sql_type_of_arrow(ty: &DataType) -> Option<String> {
    Some(match ty {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => "INT".into(),
        DataType::Int64 | DataType::UInt32 => "BIGINT".into(),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) if *s >= 0 => {
            format!("DECIMAL({p},{s})")
        }
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(..) => "TIMESTAMP".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "DOUBLE".into(),
        _ => return None,
    })
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
        let every_type = "[[dataset]]\nname = \"d\"\nfiles = \"*.csv\"\nformat = \"csv\"\ncolumns = [\n\
            { name = \"a\", type = \"string\" }, { name = \"b\", type = \"int\" },\n\
            { name = \"c\", type = \"int\", min = 0, max = 9 }, { name = \"d\", type = \"decimal(38,10)\" },\n\
            { name = \"e\", type = \"date\" }, { name = \"f\", type = \"timestamp\" }, { name = \"g\", type = \"bool\" },\n\
            { name = \"h\", type = \"enum\", values = [\"x\"] }, { name = \"i\", type = \"json\" },\n]\n";
        let project = Project::parse(every_type).unwrap();
        let columns = project.datasets[0].sql_columns();
        assert!(schema_of(&columns).is_ok(), "every declared type has an Arrow type");
        assert_eq!(schema_of(&columns).unwrap().field(1).data_type(), &DataType::Int64);
        assert_eq!(schema_of(&columns).unwrap().field(2).data_type(), &DataType::Int32);
        assert_eq!(arrow_type_of_sql("DECIMAL(12,2)"), Some(DataType::Decimal128(12, 2)));
        for bad in ["", "VARCHAR", "DECIMAL(40,2)", "DECIMAL(2,3)", "DECIMAL(x)", "string"] {
            assert_eq!(arrow_type_of_sql(bad), None, "{bad}");
        }
    }
}
