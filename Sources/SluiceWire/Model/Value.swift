/// One value of a column, for row-wise access (JSON Lines, tests, small batches).
/// Bulk paths work on ``ColumnVector`` directly.
public enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case float32(Float)
    case float64(Double)
    /// Canonical decimal text: `-?digits(.digits)?`, `NaN`, `Infinity` or `-Infinity`.
    case decimal(String)
    case string(String)
    case bytes([UInt8])
    /// Days since 1970-01-01; `Int32.max`/`Int32.min` are ±infinity.
    case date(Int32)
    /// Microseconds since midnight.
    case time(Int64)
    /// Local time in microseconds and the zone's offset in seconds east of UTC.
    case timetz(micros: Int64, offsetSeconds: Int32)
    /// Microseconds since 1970-01-01 of a zone-less wall clock; `Int64.max`/`Int64.min` are ±infinity.
    case timestamp(Int64)
    /// Microseconds since 1970-01-01 UTC; `Int64.max`/`Int64.min` are ±infinity.
    case timestamptz(Int64)
    case interval(months: Int32, days: Int32, micros: Int64)
    /// 16 bytes.
    case uuid([UInt8])
    /// A JSON document as text.
    case json(String)
    case list([Value])
}
