extension PostgresConnection {
    /// Runs `sql` once for each of `parameterSets` in libpq pipeline mode: all statements are
    /// sent before one sync point and their results read as they come, so the round trips
    /// overlap. Returns the total affected rows, or throws the first error (the server skips the
    /// rest). Without an open transaction the whole pipeline is one implicit transaction, so an
    /// error leaves none of it applied. Meant for statements that return no or few rows.
    public func executePipelined(_ sql: String, parameterSets: [[PostgresValue]]) async throws(PostgresError) -> Int {
        guard !parameterSets.isEmpty else { return 0 }
        return try await run { handle throws(PostgresError) in try handle.executePipelined(sql, parameterSets: parameterSets) }
    }
}
