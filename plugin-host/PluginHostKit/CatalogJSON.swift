import SluiceWire

/// JSON renderings of catalogs, schemas and summaries for stdout.
enum CatalogJSON {
    /// A discovered catalog: `{"streams": [...]}`.
    static func catalog(_ catalog: Catalog) -> JSONValue {
        .object([("streams", .array(catalog.streams.map(stream)))])
    }

    private static func stream(_ descriptor: StreamDescriptor) -> JSONValue {
        .object([
            ("namespace", .string(descriptor.schema.stream.namespace)),
            ("name", .string(descriptor.schema.stream.name)),
            ("kind", .string(descriptor.kind)),
            ("columns", .array(descriptor.schema.columns.map(column))),
            ("primary_key", strings(descriptor.schema.primaryKey)),
            ("unique_keys", .array(descriptor.uniqueKeys.map { .object([("name", .string($0.name)), ("columns", strings($0.columns))]) })),
            ("cursor_candidates", strings(descriptor.cursorCandidates)),
            ("sync_modes", strings(descriptor.syncModes.map(ProtocolNames.label))),
            ("estimated_rows", .integer(descriptor.estimatedRows)),
            ("estimated_bytes", .integer(descriptor.estimatedBytes)),
            ("readable", .bool(descriptor.readable)),
            ("remedy", .string(descriptor.remedy)),
        ])
    }

    /// A column: `{name, type, nullable, source_type}` plus `precision`, `scale`, `max_length`,
    /// `user_type` and `user_types` (``UserTypeJSON``) when set.
    static func column(_ column: Column) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("name", .string(column.name)),
            ("type", .string(ProtocolNames.label(column.type))),
            ("nullable", .bool(column.nullable)),
            ("source_type", .string(column.sourceType)),
        ]
        if column.type.precision != 0 { members.append(("precision", .integer(column.type.precision))) }
        if column.type.scale != 0 { members.append(("scale", .integer(column.type.scale))) }
        if column.type.maxLength != 0 { members.append(("max_length", .integer(column.type.maxLength))) }
        if let userType = column.userType {
            members.append(("user_type", UserTypeJSON.reference(userType)))
            members.append(("user_types", .array(column.userTypes.map(UserTypeJSON.type))))
        }
        return .object(members)
    }

    /// A Read or Write summary: `{"streams": [{stream, records, bytes, inserted, …}], "duration_micros"}`.
    static func summary(_ summary: Summary) -> JSONValue {
        .object([
            ("streams", .array(summary.streams.map { stream in
                .object([
                    ("stream", .string(stream.stream.description)),
                    ("records", .integer(stream.records)),
                    ("bytes", .integer(stream.bytes)),
                    ("inserted", .integer(stream.inserted)),
                    ("updated", .integer(stream.updated)),
                    ("deleted", .integer(stream.deleted)),
                    ("unmatched", .integer(stream.unmatched)),
                    ("nul_bytes_stripped", .integer(stream.nulBytesStripped)),
                    ("lag_bytes", .integer(stream.lagBytes)),
                ])
            })),
            ("duration_micros", .integer(summary.durationMicros)),
        ])
    }

    private static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
}
