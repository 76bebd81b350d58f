import Foundation
import PostgresClient
import SluiceSDK
import SluiceWire
import Testing

/// Every supported type read through the plugin, compared with the server's own rendering.
@Suite("postgres-plugin source types")
struct SourceTypeTests {
    /// Column name, type, expected logical kind, and SQL rendering the wire value as text.
    static let columns: [(String, String, TypeKind)] = [
        ("b", "boolean", .bool), ("i2", "smallint", .int16), ("i4", "integer", .int32), ("i8", "bigint", .int64),
        ("f4", "real", .float32), ("f8", "double precision", .float64), ("n", "numeric", .decimal),
        ("n2", "numeric(12,2)", .decimal), ("m", "money", .decimal), ("t", "text", .string), ("vc", "varchar(10)", .string),
        ("ch", "char(5)", .string), ("nm", "name", .string), ("ci", "citext", .string), ("by", "bytea", .bytes),
        ("d", "date", .date), ("tm", "time", .time), ("tz", "timetz", .timetz), ("ts", "timestamp", .timestamp),
        ("tstz", "timestamptz", .timestamptz), ("iv", "interval", .interval), ("u", "uuid", .uuid), ("j", "json", .json),
        ("jb", "jsonb", .json), ("ai", "integer[]", .list), ("at", "text[]", .list), ("an", "numeric[]", .list),
        ("ab", "boolean[]", .list), ("bt", "bit(4)", .string), ("vb", "bit varying", .string), ("ip", "inet", .string),
        ("cd", "cidr", .string), ("mac", "macaddr", .string), ("x", "xml", .string), ("vec", "vector(3)", .string),
        // xml stays NULL: the test server may lack libxml.
        ("e", "mood", .string), ("dm", "positive_amount", .decimal), ("ad", "date[]", .list),
    ]

    static let rows: [String] = [
        """
        (true, -32768, -2147483648, 9223372036854775807, 'NaN', 'Infinity',
         '123456789012345678901234567890.000000000000000000001', 1234567890.12, '12345.67', E'h\\u00e9llo "q" \\n\\t', 'abc',
         'ab', 'name_x', 'MiXeD', '\\x00ff10', 'infinity', '23:59:59.999999', '12:34:56.789+05:30',
         '294246-12-31 23:59:59.999999', '-infinity', '1 year 2 mons 3 days 04:05:06.789',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1,   "a": [1,2]}', '{"b": 1, "a": [1, 2.50]}', '{1,NULL,3}',
         '{"a b","c,d",NULL,"","x\\"y"}', '{1.50,NaN}', '{t,f}', '1010', '10111', '192.168.0.1/24', '10.0.0.0/8',
         '08:00:2b:01:02:03', NULL, '[1,2.5,3]', 'happy', 12.5, '{2024-02-29,infinity}')
        """,
        """
        (false, 32767, 2147483647, -9223372036854775808, '-Infinity', 0.1, 'NaN', -0.01, '-92233720368547758.08', '',
         'abcdefghij', 'abcde', '', '', '', '-infinity', '00:00:00', '00:00:00-08', '4713-01-01 00:00:00 BC',
         '2024-06-01 12:00:00.123456+02', '-1 mons -2 days -00:00:01', '00000000-0000-0000-0000-000000000000',
         '[]', '{}', '{}', '{}', '{}', '{}', '0000', '', '::1', '::/0', 'ff:ff:ff:ff:ff:ff', NULL, '[0,0,0]', 'sad', 0.1,
         '{4713-01-01 BC}')
        """,
        """
        (NULL, 0, 0, 0, 1.5e-40, -0.0, '-0.0001', 0, 0, 'x', NULL, NULL, NULL, NULL, NULL, '4713-01-01 BC', NULL, NULL,
         '2000-01-01 00:00:00', '1970-01-01 00:00:00+00', '0', NULL, 'null', 'null', NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
        """,
        """
        (NULL, NULL, NULL, NULL, NULL, NULL, 'Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
        """,
    ]

    /// SQL producing the text the test expects for a column's wire value.
    static func expectedSQL(_ name: String, _ kind: TypeKind, _ sqlType: String) -> String {
        let c = SQL.quoteIdentifier(name)
        switch kind {
        case .float32: return "encode(float4send(\(c)), 'hex')"
        case .float64: return "encode(float8send(\(c)), 'hex')"
        case .bytes: return "encode(\(c), 'hex')"
        case .decimal: return "\(c)::numeric::text"
        case .date:
            return "CASE WHEN \(c) = 'infinity' THEN '2147483647' WHEN \(c) = '-infinity' THEN '-2147483648' ELSE (\(c) - date '1970-01-01')::text END"
        case .timestamp, .timestamptz:
            return "CASE WHEN \(c) = 'infinity' THEN '9223372036854775807' WHEN \(c) = '-infinity' THEN '-9223372036854775808' ELSE (extract(epoch from \(c)) * 1000000)::bigint::text END"
        case .time: return "(extract(epoch from \(c)) * 1000000)::bigint::text"
        case .timetz: return "(extract(epoch from \(c)::time) * 1000000)::bigint::text || '/' || extract(timezone from \(c))::int::text"
        case .interval:
            return "(extract(year from \(c)) * 12 + extract(month from \(c)))::int::text || '/' || extract(day from \(c))::int::text || '/' || (extract(epoch from \(c) - date_trunc('day', \(c))) * 1000000)::bigint::text"
        case .list where sqlType == "date[]":
            return "(SELECT '{' || string_agg(CASE WHEN e = 'infinity' THEN '2147483647' WHEN e = '-infinity' THEN '-2147483648' ELSE (e - date '1970-01-01')::text END, ',' ORDER BY o) || '}' FROM unnest(\(c)) WITH ORDINALITY AS u(e, o))"
        default: return "CASE WHEN \(c) IS NULL THEN NULL ELSE format('%s', \(c)) END"
        }
    }

    /// The same text, rendered from a decoded value.
    static func render(_ value: Value) -> String? {
        switch value {
        case .null: return nil
        case .bool(let v): return v ? "t" : "f"
        case .int16(let v): return String(v)
        case .int32(let v): return String(v)
        case .int64(let v): return String(v)
        case .float32(let v): return String(format: "%08x", v.bitPattern)
        case .float64(let v): return String(format: "%016llx", v.bitPattern)
        case .decimal(let v), .string(let v), .json(let v): return v
        case .bytes(let v): return v.map { String(format: "%02x", $0) }.joined()
        case .date(let v): return String(v)
        case .time(let v), .timestamp(let v), .timestamptz(let v): return String(v)
        case .timetz(let micros, let offset): return "\(micros)/\(offset)"
        case .interval(let months, let days, let micros): return "\(months)/\(days)/\(micros)"
        case .uuid(let bytes):
            let hex = bytes.map { String(format: "%02x", $0) }.joined()
            var parts: [Substring] = []
            var rest = Substring(hex)
            for length in [8, 4, 4, 4, 12] {
                parts.append(rest.prefix(length))
                rest = rest.dropFirst(length)
            }
            return parts.joined(separator: "-")
        case .list(let values): return "{" + values.map(arrayElement).joined(separator: ",") + "}"
        }
    }

    static func arrayElement(_ value: Value) -> String {
        guard let text = render(value) else { return "NULL" }
        if case .date = value { return text }
        let special = text.isEmpty || text.uppercased() == "NULL" || text.contains { "{}\",\\ \t\n".contains($0) }
        guard special else { return text }
        return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The enum and domain columns of `every_type` describe their types; the other columns none.
    static func expectUserTypes(_ schema: StreamSchema, schema namespace: String) throws {
        let mood = try #require(schema.columns.first { $0.name == "e" })
        let moodDefinition = UserType(namespace: namespace, name: "mood", kind: .enumeration, labels: ["sad", "happy"])
        #expect(mood.userType == TypeReference.user(namespace: namespace, name: "mood"))
        #expect(mood.userTypes == [moodDefinition])
        let amount = try #require(schema.columns.first { $0.name == "dm" })
        let check = DomainCheck(name: "positive_amount_check", definition: "CHECK ((VALUE >= (0)::numeric))")
        let amountDefinition = UserType(namespace: namespace, name: "positive_amount", kind: .domain,
                                        base: TypeReference(builtin: "numeric(5,1)"), checks: [check])
        #expect(amount.userType == TypeReference.user(namespace: namespace, name: "positive_amount"))
        #expect(amount.userTypes == [amountDefinition])
        let others = schema.columns.filter { $0.name != "e" && $0.name != "dm" }
        #expect(others.allSatisfy { $0.userType == nil && $0.userTypes.isEmpty })
    }

    @Test("a table with every type round-trips exactly, compared with the server's rendering", .needsPGVector)
    func everyType() async throws {
        try await SourceHarness.withSchema { schema, db in
            let s = SQL.quoteIdentifier(schema)
            _ = try await db.executeScript("""
                CREATE EXTENSION IF NOT EXISTS citext; CREATE EXTENSION IF NOT EXISTS vector;
                SET search_path = \(s), public;
                CREATE TYPE mood AS ENUM ('sad', 'happy');
                CREATE DOMAIN positive_amount AS numeric(5,1) CHECK (VALUE >= 0);
                CREATE TABLE every_type (row_id serial PRIMARY KEY, \(Self.columns.map { "\($0.0) \($0.1)" }.joined(separator: ", ")));
                INSERT INTO every_type (\(Self.columns.map(\.0).joined(separator: ", "))) VALUES \(Self.rows.joined(separator: ", "));
                """)
            let result = try await SourceHarness.read([SourceHarness.stream(schema, "every_type")])
            let schemaMessage = try #require(result.schemas.first)
            for (name, _, kind) in Self.columns {
                #expect(schemaMessage.columns.first { $0.name == name }?.type.kind == kind, "column \(name)")
            }
            #expect(schemaMessage.columns.first { $0.name == "bt" }?.sourceType == "bit(4)")
            #expect(schemaMessage.columns.first { $0.name == "ai" }?.type == .list(of: .int32))
            // User-defined types carry their definitions (PROTOCOL.md §5.8); built-in ones none.
            try Self.expectUserTypes(schemaMessage, schema: schema)
            let rows = try result.rows("every_type")
            #expect(rows.count == Self.rows.count)
            let select = Self.columns.map { Self.expectedSQL($0.0, $0.2, $0.1) }.joined(separator: ", ")
            let server = try await db.execute("SELECT \(select) FROM \(s).every_type ORDER BY row_id").rows
            let names = schemaMessage.columns.map(\.name)
            for (index, serverRow) in server.enumerated() where index < rows.count {
                for (position, column) in Self.columns.enumerated() {
                    let got = names.firstIndex(of: column.0).map { Self.render(rows[index][$0]) } ?? "missing"
                    #expect(got == serverRow[position], "row \(index) column \(column.0) (\(column.1))")
                }
            }
        }
    }
}
