//! How the store keeps instants: UTC with microsecond precision, `DATETIME(6)`
//! on MySQL and fixed-width text on SQLite.
//!
//! sqlx's own SQLite encoding writes a variable number of fractional digits,
//! so `'…:00.5' > '…:00.123456'` would compare wrongly as text; this type
//! always writes six.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::mysql::{MySql, MySqlTypeInfo, MySqlValueRef};
use sqlx::sqlite::{Sqlite, SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Type};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const SQLITE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:6]");

/// An instant as the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StoreTime(OffsetDateTime);

impl StoreTime {
    /// Truncates to microseconds, the precision both dialects keep, so a value
    /// read back equals the value written.
    pub(crate) fn new(at: OffsetDateTime) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        let micros = at.microsecond();
        StoreTime(at.replace_microsecond(micros).expect("microseconds are in range"))
    }

    pub(crate) fn now() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }

    pub(crate) fn parse_rfc3339(text: &str) -> Result<Self, time::error::Parse> {
        OffsetDateTime::parse(text, &Rfc3339).map(Self::new)
    }

    pub(crate) fn get(self) -> OffsetDateTime {
        self.0
    }

    fn sqlite_text(self) -> String {
        self.0.format(SQLITE_FORMAT).expect("a UTC instant formats")
    }
}

impl Type<MySql> for StoreTime {
    fn type_info() -> MySqlTypeInfo {
        <PrimitiveDateTime as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        <PrimitiveDateTime as Type<MySql>>::compatible(ty)
    }
}

impl Encode<'_, MySql> for StoreTime {
    fn encode_by_ref(&self, buf: &mut Vec<u8>) -> Result<IsNull, BoxDynError> {
        // Bound as DATETIME, not TIMESTAMP, so the session time zone never applies.
        let utc = PrimitiveDateTime::new(self.0.date(), self.0.time());
        Encode::<MySql>::encode(utc, buf)
    }
}

impl<'r> Decode<'r, MySql> for StoreTime {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        // DATETIME has no zone; edba only ever writes UTC.
        let at = <PrimitiveDateTime as Decode<MySql>>::decode(value)?;
        Ok(StoreTime::new(at.assume_utc()))
    }
}

impl Type<Sqlite> for StoreTime {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for StoreTime {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.sqlite_text(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for StoreTime {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<Sqlite>>::decode(value)?;
        let at = PrimitiveDateTime::parse(&text, SQLITE_FORMAT)?;
        Ok(StoreTime::new(at.assume_utc()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_sorts_like_time() {
        let a = StoreTime::parse_rfc3339("2024-05-01T10:00:00.5Z").unwrap();
        let b = StoreTime::parse_rfc3339("2024-05-01T10:00:00.123456Z").unwrap();
        assert!(a > b);
        assert!(a.sqlite_text() > b.sqlite_text());
        assert_eq!(a.sqlite_text(), "2024-05-01 10:00:00.500000");
    }

    #[test]
    fn offsets_become_utc_and_nanoseconds_are_dropped() {
        let t = StoreTime::parse_rfc3339("2024-05-01T12:00:00.123456789+02:00").unwrap();
        assert_eq!(t.sqlite_text(), "2024-05-01 10:00:00.123456");
        assert_eq!(t.get().offset(), UtcOffset::UTC);
    }
}
