import PostgresClient
import SluiceWire

/// `table_layout: raw` (Airbyte's layout): one row per record with a uuid id, the time it was
/// emitted (the sync's time), the record as one `jsonb` object keyed by the stream's field
/// names, and whether the record was a delete.
///
/// Rows go through the typed staging table (binary COPY) and PostgreSQL renders the object
/// with `JSON_OBJECT(… RETURNING jsonb)`, so values stay exact: integers and decimals are JSON
/// numbers (jsonb keeps numbers as numeric, so every digit of a bigint or a 1000-digit decimal
/// survives), NaN and ±Infinity strings, timestamps ISO 8601 strings (timestamptz in UTC),
/// ±infinity "infinity" strings, bytes "\\x…" hex strings, lists JSON arrays, json embedded.
enum RawLayout {
    static let idColumn = "_sluice_raw_id"
    static let emittedAtColumn = "_sluice_emitted_at"
    static let dataColumn = "_sluice_data"
    static let deletedColumn = "_sluice_deleted"

    /// The raw table's columns (the id gets its default in ``createTable(_:hasSource:)``).
    static func columns(hasSource: Bool) -> [WantedColumn] {
        [WantedColumn(name: idColumn, type: "uuid", nullable: false),
         WantedColumn(name: emittedAtColumn, type: "timestamp with time zone", nullable: false),
         WantedColumn(name: dataColumn, type: "jsonb", nullable: false),
         WantedColumn(name: deletedColumn, type: "boolean", nullable: false)]
            + (hasSource ? [WantedColumn(name: WritePlan.sourceColumn, type: "text", nullable: true)] : [])
    }

    static func createTable(_ qualified: String, hasSource: Bool) -> String {
        let definitions = columns(hasSource: hasSource).map { column in
            SQL.quoteIdentifier(column.name) + " " + column.type + (column.nullable ? "" : " NOT NULL")
                + (column.name == idColumn ? " DEFAULT gen_random_uuid()" : "") + (column.name == deletedColumn ? " DEFAULT false" : "")
        }
        return "CREATE TABLE \(qualified) (\(definitions.joined(separator: ", ")), PRIMARY KEY (\(SQL.quoteIdentifier(idColumn))))"
    }

    /// Session settings that fix how PostgreSQL renders values into JSON.
    static let sessionSettings = "SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 1"

    /// `JSON_OBJECT` came with PostgreSQL 16.
    static let minimumServerVersion = 160_000

    /// Fails with a configuration error before any data moves when the server is older than
    /// PostgreSQL 16 (`serverVersion` as `PQserverVersion` gives it, such as 150018).
    static func requireSupport(serverVersion: Int) throws {
        guard serverVersion < minimumServerVersion else { return }
        throw PluginError(category: .config, code: "RAW_LAYOUT_UNSUPPORTED",
                          message: "table_layout raw needs PostgreSQL 16 or later (it builds records with JSON_OBJECT); this server is version \(serverVersion / 10_000).\(serverVersion % 10_000): use table_layout typed")
    }
}

extension WritePlan {
    /// Appends the staged rows as raw records, in order; the field names are the parameters.
    var appendRawFromStaging: String {
        let fields = columns.enumerated().map { index, column in
            "($\(index + 1)::text) VALUE s.\(SQL.quoteIdentifier(column.name))"
        }
        let object = fields.isEmpty ? "'{}'::jsonb" : "JSON_OBJECT(\(fields.joined(separator: ", ")) NULL ON NULL RETURNING jsonb)"
        let targets = [RawLayout.emittedAtColumn, RawLayout.dataColumn, RawLayout.deletedColumn] + (hasSource ? [Self.sourceColumn] : [])
        let values = ["s.\(SQL.quoteIdentifier(Self.syncedAtColumn))", object, "s.\(SQL.quoteIdentifier(Self.deleteColumn))"]
            + (hasSource ? ["s.\(SQL.quoteIdentifier(Self.sourceColumn))"] : [])
        return "INSERT INTO \(target) (\(targets.map(SQL.quoteIdentifier).joined(separator: ", "))) SELECT \(values.joined(separator: ", ")) "
            + "FROM \(quotedStaging) s ORDER BY s.\(SQL.quoteIdentifier(Self.sequenceColumn))"
    }

    /// The stream's field names, in column order: the keys of the raw object.
    var rawFieldNames: [PostgresValue] { schema.columns.map { .text($0.name) } }
}
