import PostgresClient
import SluiceWire

/// What one committed flush did.
struct FlushResult {
    var inserted: UInt64 = 0
    var updated: UInt64 = 0
    var deleted: UInt64 = 0
    var unmatched: UInt64 = 0
    var nulBytesStripped: UInt64 = 0
}

/// Writes one stream's buffered rows in one transaction: binary COPY straight into the
/// table, an `unnest` INSERT, or COPY into a staging table plus one set-based statement.
struct Flush {
    /// Batches below this many rows use INSERT with `insert_method: auto`.
    static let smallBatchRows = 1_000
    /// COPY data is sent in chunks of about this size.
    static let chunkBytes = 1 << 20

    let connection: PostgresConnection
    let buffer: StreamBuffer
    let settings: DestinationSettings
    let syncedAtMicros: Int64
    let sourceName: String
    /// Whether the session's staging table for this plan exists on `connection`.
    let stagingReady: Bool

    private var plan: WritePlan { buffer.plan }
    private var failOnNul: Bool { settings.nulBytes == "fail" }

    var usesStaging: Bool {
        buffer.hasDeletes || [.upsert, .updateOnly, .mirror].contains(plan.mode) || (!plan.direct && !usesInsert)
    }

    private var usesInsert: Bool {
        guard !buffer.hasDeletes, !plan.hasListColumnWithoutLiteral else { return false }
        switch settings.insertMethod {
        case "insert": return true
        case "copy": return false
        default: return buffer.rows < Self.smallBatchRows
        }
    }

    /// Runs the flush; `committing` becomes true once COMMIT is sent (its outcome is then unknown on failure).
    func run(committing: inout Bool) async throws -> FlushResult {
        var result = FlushResult()
        _ = try await connection.execute("BEGIN")
        do {
            if usesStaging {
                if !stagingReady { _ = try await connection.execute(plan.createStaging) }
                result.nulBytesStripped = try await copy(plan.copyIntoStaging, staging: true)
                try await apply(&result)
            } else if usesInsert {
                let (parameters, stripped) = try ArrayParameters.build(plan: plan, batches: buffer.batches, rows: buffer.rows,
                                                                        syncedAtMicros: syncedAtMicros, sourceName: sourceName, failOnNul: failOnNul)
                result.nulBytesStripped = stripped
                let inserted = try await connection.execute(plan.insertFromArrays, parameters)
                result.inserted = UInt64(inserted.affectedRows)
            } else {
                result.nulBytesStripped = try await copy(plan.copyIntoTarget, staging: false)
                result.inserted = UInt64(buffer.rows)
            }
            committing = true
            _ = try await connection.execute("COMMIT")
        } catch {
            if !committing { _ = try? await connection.execute("ROLLBACK") }
            throw error
        }
        return result
    }

    private func copy(_ sql: String, staging: Bool) async throws -> UInt64 {
        var encoder = CopyEncoder(plan: plan, staging: staging, syncedAtMicros: syncedAtMicros, sourceName: sourceName,
                                  failOnNul: failOnNul, capacity: min(buffer.bytes + buffer.rows * 24, Self.chunkBytes * 2))
        let batches = buffer.batches
        _ = try await connection.copyIn(sql) { writer in
            encoder.appendHeader()
            var sequence: Int64 = 0
            for batch in batches {
                let batchStart = buffer.committedRows + Int(sequence)
                do throws(RowError) {
                    try encoder.append(batch, sequence: &sequence)
                } catch {
                    throw error.located(firstRow: batchStart)
                }
                if encoder.fields.out.bytes.count >= Self.chunkBytes { try await writer.send(encoder.take()) }
            }
            encoder.appendTrailer()
            try await writer.send(encoder.take())
        }
        return encoder.fields.nulBytesStripped
    }

    /// Applies the staged rows to the table per the write mode.
    private func apply(_ result: inout FlushResult) async throws {
        if buffer.hasDeletes {
            guard !plan.key.isEmpty else {
                throw PluginError(category: .config, code: "MISSING_KEY",
                                  message: "stream \(plan.stream) sends deletes but has no key: give it a primary key or key_columns", stream: plan.stream)
            }
            if plan.mode != .append && plan.mode != .replace {
                result.deleted = count(try await connection.execute(plan.deleteFromStaging), 0)
            }
        }
        switch plan.mode {
        case .upsert, .mirror:
            let counts = try await connection.execute(plan.upsertFromStaging)
            result.inserted = count(counts, 0)
            result.updated = count(counts, 1)
        case .updateOnly:
            let counts = try await connection.execute(plan.updateFromStaging)
            result.updated = count(counts, 0)
            result.unmatched = count(counts, 1) - result.updated
        default:
            if buffer.hasDeletes && !plan.key.isEmpty {
                result.deleted = count(try await connection.execute(plan.deleteFromStaging), 0)
            }
            let inserted = try await connection.execute(plan.appendFromStaging)
            result.inserted = UInt64(inserted.affectedRows)
        }
    }

    private func count(_ result: QueryResult, _ column: Int) -> UInt64 {
        UInt64(result.rows.first?[column].flatMap { $0 } ?? "0") ?? 0
    }
}

extension RowError {
    /// The error as a data error naming the stream's column and row position.
    func located(firstRow: Int) -> RowError {
        RowError(column: column, row: firstRow + row, reason: reason)
    }
}
