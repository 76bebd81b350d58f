/// One column of a query result.
public struct ResultColumn: Sendable, Hashable {
    /// The column's name as the server reports it.
    public let name: String
    /// The object id of the column's type (`pg_type.oid`).
    public let typeOID: UInt32

    /// A column named `name` of type `typeOID`.
    public init(name: String, typeOID: UInt32) {
        self.name = name
        self.typeOID = typeOID
    }
}

/// Everything a statement returned, copied out of libpq: for small and medium results.
/// Values are in PostgreSQL's text output format; `nil` is SQL NULL.
public struct QueryResult: Sendable {
    /// The result's columns, in order.
    public let columns: [ResultColumn]
    /// The rows, each with one value per column.
    public let rows: [[String?]]
    /// Rows the command affected (`PQcmdTuples`); 0 for commands that do not report a count.
    public let affectedRows: Int
    /// The command tag, such as `INSERT 0 3` or `SELECT 2`.
    public let commandTag: String

    /// A result with these parts.
    public init(columns: [ResultColumn], rows: [[String?]], affectedRows: Int, commandTag: String) {
        self.columns = columns
        self.rows = rows
        self.affectedRows = affectedRows
        self.commandTag = commandTag
    }

    /// The index of the first column called `name`, if any.
    public func columnIndex(named name: String) -> Int? {
        columns.firstIndex { $0.name == name }
    }

    /// The value in row `row` of the first column called `column`; `nil` for NULL or when no
    /// column has that name (use ``columnIndex(named:)`` to tell the two apart).
    public subscript(row: Int, column: String) -> String? {
        guard let index = columnIndex(named: column) else { return nil }
        return rows[row][index]
    }
}
