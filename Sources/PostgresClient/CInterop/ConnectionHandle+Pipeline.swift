import CLibPQ

extension ConnectionHandle {
    /// Statements sent before their results are read. Their results are small (no rows), so
    /// neither side's socket buffer can fill up while the other waits.
    static let pipelineBatch = 256

    /// Runs `sql` once per parameter set in pipeline mode, all before one sync point (so as one
    /// implicit transaction unless a transaction is open); returns the total affected rows or
    /// throws the first error, after which the server skips the rest.
    ///
    /// Every parameter set is checked before anything is sent. Should libpq still fail to queue
    /// a statement, the connection is closed without a sync point, so the server rolls back
    /// instead of committing the statements before it.
    func executePipelined(_ sql: String, parameterSets: [[PostgresValue]]) throws(PostgresError) -> Int {
        let conn = try open()
        try checkStatement(sql)
        for parameters in parameterSets { try ParameterArrays.validate(parameters, secrets: secrets) }
        guard PQenterPipelineMode(conn) == 1 else { throw clientError(.protocolViolation, context: "entering pipeline mode failed") }
        var total = 0
        var firstError: PostgresError?
        var sent = 0
        while sent < parameterSets.count && firstError == nil {
            let batchEnd = min(sent + Self.pipelineBatch, parameterSets.count)
            var queued = 0
            for index in sent..<batchEnd {
                let accepted = (try? ParameterArrays.with(parameterSets[index], secrets: secrets) { count, types, values, lengths, formats in
                    PQsendQueryParams(conn, sql, count, types, values, lengths, formats, 0) == 1
                }) ?? false
                guard accepted else {
                    let error = clientError(.connectionLost, context: "queueing a pipelined statement failed")
                    finish()
                    throw error
                }
                queued += 1
            }
            sent += queued
            guard PQsendFlushRequest(conn) == 1 && PQflush(conn) == 0 else {
                let error = clientError(.connectionLost, context: "sending the pipeline failed")
                finish()
                throw error
            }
            for _ in 0..<queued {
                let (rows, error) = readPipelinedStatement(conn)
                total += rows
                if firstError == nil { firstError = error }
            }
        }
        if let error = endPipeline(conn), firstError == nil { firstError = error }
        if let firstError { throw firstError }
        return total
    }

    /// Reads the results of one pipelined statement, up to the NULL that ends them.
    private func readPipelinedStatement(_ conn: OpaquePointer) -> (rows: Int, error: PostgresError?) {
        var rows = 0
        var error: PostgresError?
        while let result = ResultHandle(PQgetResult(conn)) {
            switch result.status {
            case PGRES_COMMAND_OK, PGRES_TUPLES_OK: rows += result.affectedRows
            case PGRES_PIPELINE_ABORTED: break
            default: if error == nil { error = failure(result) }
            }
        }
        return (rows, error)
    }

    /// Sends the sync point, reads up to its result and leaves pipeline mode.
    private func endPipeline(_ conn: OpaquePointer) -> PostgresError? {
        var error: PostgresError?
        if PQpipelineSync(conn) == 1 {
            var emptyReads = 0
            while isAlive && emptyReads < 2 {
                guard let result = ResultHandle(PQgetResult(conn)) else {
                    emptyReads += 1
                    continue
                }
                let status = result.status
                if status == PGRES_PIPELINE_SYNC { break }
                if status == PGRES_FATAL_ERROR, error == nil { error = failure(result) }
            }
        }
        if PQexitPipelineMode(conn) != 1 && isAlive {
            error = error ?? clientError(.protocolViolation, context: "leaving pipeline mode failed")
        }
        return error
    }
}
