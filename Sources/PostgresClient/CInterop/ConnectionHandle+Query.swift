import CLibPQ

extension ConnectionHandle {
    /// Runs one statement with `PQexecParams`, parameters bound, results in text format.
    func execute(_ sql: String, _ parameters: [PostgresValue]) throws(PostgresError) -> QueryResult {
        let conn = try open()
        try checkStatement(sql)
        let result = try ParameterArrays.with(parameters, secrets: secrets) { count, types, values, lengths, formats in
            PQexecParams(conn, sql, count, types, values, lengths, formats, 0)
        }
        return try complete(ResultHandle(result))
    }

    /// Runs one or more `;`-separated statements with `PQexec` (simple protocol, no parameters);
    /// returns the last statement's result.
    func executeScript(_ sql: String) throws(PostgresError) -> QueryResult {
        let conn = try open()
        try checkStatement(sql)
        return try complete(ResultHandle(PQexec(conn, sql)))
    }

    /// `COMMIT` of the open transaction: throws `transactionNotOpen` (sending nothing) without
    /// one, and `rolledBack` when the server rolled a failed one back (command tag `ROLLBACK`).
    func commit() throws(PostgresError) {
        let status = PQtransactionStatus(try open())
        guard status == PQTRANS_INTRANS || status == PQTRANS_INERROR else {
            throw PostgresError(kind: .transactionNotOpen, message: "no transaction to commit", secrets: [])
        }
        let tag = try executeScript("COMMIT").commandTag
        guard tag == "COMMIT" else {
            throw PostgresError(kind: .rolledBack, message: "COMMIT rolled the transaction back (it had failed): nothing of it was committed (command tag \(tag))",
                                secrets: [])
        }
    }

    /// Runs `sql` (statements separated by `;`, without parameters) through the simple query
    /// protocol and returns every statement's result, in order. The server stops at the first
    /// failing statement; its error is thrown once every result has been read.
    func executeScriptResults(_ sql: String) throws(PostgresError) -> [QueryResult] {
        let conn = try open()
        try checkStatement(sql)
        guard PQsendQuery(conn, sql) == 1 else { throw clientError(.connectionLost, context: "sending the statements failed") }
        var results: [QueryResult] = []
        var firstError: PostgresError?
        while let result = ResultHandle(PQgetResult(conn)) {
            let status = result.status
            switch status {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
                results.append(result.queryResult())
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
                _ = consume result
                leaveCopy(status, reason: "COPY is not supported by executeScriptResults")
                if firstError == nil {
                    firstError = PostgresError(kind: isAlive ? .copyFailed : .connectionLost, message: "a statement started a COPY", secrets: secrets)
                }
            default:
                if firstError == nil { firstError = failure(result) }
            }
        }
        if let firstError { throw firstError }
        return results
    }

    /// Sets each server setting of `settings` for the session (`set_config(name, value, false)`,
    /// all in one statement).
    /// A replication connection speaks only the simple protocol: there the names and values
    /// are quoted literals (`PQescapeLiteral`) instead.
    func apply(_ settings: [(key: String, value: String)], simpleProtocol: Bool) throws(PostgresError) {
        guard !settings.isEmpty else { return }
        if simpleProtocol {
            var calls: [String] = []
            for setting in settings {
                calls.append("set_config(\(try escapeLiteral(setting.key)), \(try escapeLiteral(setting.value)), false)")
            }
            _ = try executeScript("SELECT " + calls.joined(separator: ", "))
            return
        }
        let calls = settings.indices.map { "set_config($\(2 * $0 + 1), $\(2 * $0 + 2), false)" }
        _ = try execute("SELECT " + calls.joined(separator: ", "), settings.flatMap { [PostgresValue.text($0.key), .text($0.value)] })
    }

    /// Prepares `sql` as the named statement `name`; fails with the server's error when it
    /// does not parse or analyse.
    func prepare(name: String, sql: String) throws(PostgresError) {
        let conn = try open()
        try checkStatement(sql)
        try checkStatement(name)
        _ = try complete(ResultHandle(PQprepare(conn, name, sql, 0, nil)))
    }

    /// The rows of a finished command, or its error. A statement that started a COPY is ended
    /// (the connection stays usable) and reported as ``PostgresError/Kind/copyFailed``.
    private func complete(_ result: consuming ResultHandle?) throws(PostgresError) -> QueryResult {
        guard let result else { throw clientError(.protocolViolation, context: "libpq returned no result") }
        let status = result.status
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result.queryResult()
        case PGRES_FATAL_ERROR:
            throw failure(result)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            _ = consume result
            leaveCopy(status, reason: "COPY is not supported by execute")
            throw PostgresError(kind: isAlive ? .copyFailed : .connectionLost,
                                message: "the statement started a COPY; use copyIn or copyOut", secrets: secrets)
        default:
            throw PostgresError(kind: .protocolViolation, message: "unexpected result status \(status.rawValue)", secrets: secrets)
        }
    }
}
