import CLibPQ

/// Owns one `PGresult` and clears it when dropped. Read-only once made.
struct ResultHandle: ~Copyable {
    private let result: OpaquePointer

    /// Takes ownership of `result`; nil when libpq returned no result.
    init?(_ result: OpaquePointer?) {
        guard let result else { return nil }
        self.result = result
    }

    deinit { PQclear(result) }

    /// The result status.
    var status: ExecStatusType { PQresultStatus(result) }

    /// `PQcmdTuples` as a number; 0 when the command reports no count.
    var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    /// Columns, rows, affected rows and command tag, copied into Swift values.
    func queryResult() -> QueryResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { column in
            ResultColumn(name: String(cString: PQfname(result, Int32(column))), typeOID: PQftype(result, Int32(column)))
        }
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    values.append(nil)
                } else {
                    let bytes = UnsafeRawPointer(PQgetvalue(result, row, column)).assumingMemoryBound(to: UInt8.self)
                    values.append(String(decoding: UnsafeBufferPointer(start: bytes, count: Int(PQgetlength(result, row, column))), as: UTF8.self))
                }
            }
            rows.append(values)
        }
        return QueryResult(columns: columns, rows: rows, affectedRows: affectedRows, commandTag: String(cString: PQcmdStatus(result)))
    }

    /// The error this result reports, as `kind`, scrubbed of `secrets`. The server's fields are
    /// used when present; otherwise libpq's own message for the result.
    func error(kind: PostgresError.Kind, secrets: [String]) -> PostgresError {
        let message = field(Diagnostic.primary) ?? String(cString: PQresultErrorMessage(result)).withoutTrailingNewlines
        return PostgresError(kind: kind, message: message.isEmpty ? "unknown error (result status \(status.rawValue))" : message,
                             sqlState: field(Diagnostic.sqlState), detail: field(Diagnostic.detail),
                             hint: field(Diagnostic.hint), position: field(Diagnostic.position).flatMap { Int($0) },
                             context: field(Diagnostic.context), secrets: secrets)
    }

    /// The SQLSTATE of this result, if it reports one.
    var sqlState: String? { field(Diagnostic.sqlState) }

    /// The `PG_DIAG_*` codes of `postgres_ext.h` (character macros, which Swift does not import).
    private enum Diagnostic {
        static let sqlState = Int32(UInt8(ascii: "C"))
        static let primary = Int32(UInt8(ascii: "M"))
        static let detail = Int32(UInt8(ascii: "D"))
        static let hint = Int32(UInt8(ascii: "H"))
        static let position = Int32(UInt8(ascii: "P"))
        static let context = Int32(UInt8(ascii: "W"))
    }

    /// One `PQresultErrorField`, if present.
    private func field(_ code: Int32) -> String? {
        PQresultErrorField(result, code).map { String(cString: $0) }
    }
}
