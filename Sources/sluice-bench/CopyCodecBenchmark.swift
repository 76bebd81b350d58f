import ArgumentParser
import PostgresPlugin
import SluiceSDK
import SluiceWire

/// `sluice-bench copy`: the PostgreSQL plugin's binary COPY work alone, no process or server.
/// Encodes the codec benchmark's batches as the destination sends them to COPY (with its
/// metadata columns, as by default), decodes a COPY stream of the same rows into batches as the
/// source reads them (checked equal to the originals), and prints each direction's time per row
/// and its ratio to the wire codec's encode or decode of the same batches in the same run.
struct CopyCodecBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Measure the PostgreSQL plugin's binary COPY encoding (destination) and decoding (source) of the mixed 8-column table against the wire codec.")

    @OptionGroup var options: BatchRunOptions

    mutating func run() throws {
        let (rows, batchSize, runs) = (options.rows, options.batchSize, options.runs)
        let schema = CodecBenchmark.schema
        let batches = options.batches()
        let clock = ContinuousClock()
        // As in the plugins: chunks and batches are handed on and freed, their memory reused.
        ProcessMemory.retainFreedMemory()

        var encodeSeconds = Double.infinity, decodeSeconds = Double.infinity
        var wireEncodeSeconds = Double.infinity, wireDecodeSeconds = Double.infinity
        var copyBytes = 0
        var stream: [UInt8] = []
        for _ in 0 ..< runs {
            copyBytes = 0
            encodeSeconds = min(encodeSeconds, try CodecBenchmark.seconds(clock.measure {
                try BinaryCopyCodec.encode(batches, schema: schema, metadataColumns: true) { copyBytes += $0.count }
            }))
            let (seconds, encoded) = CodecBenchmark.encodeAndFrame(batches, capacity: stream.count)
            wireEncodeSeconds = min(wireEncodeSeconds, seconds)
            stream = encoded
        }
        // The rows as the source's table holds them: no metadata columns.
        var copy: [[UInt8]] = []
        try BinaryCopyCodec.encode(batches, schema: schema, metadataColumns: false) { copy.append($0) }
        var decoded: [RecordBatch] = []
        try BinaryCopyCodec.decode(copy, schema: schema, batchSize: batchSize) { decoded.append($0) }
        // Value by value: the source's vectors may lay out a null differently from the builder's.
        if let first = batches.indices.first(where: { $0 >= decoded.count || decoded[$0].rows(schema: schema) != batches[$0].rows(schema: schema) }) {
            throw ValidationError("the rows decoded from COPY differ from the rows encoded (batch \(first))")
        }
        decoded = []
        for _ in 0 ..< runs {
            var decodedRows = 0
            decodeSeconds = min(decodeSeconds, try CodecBenchmark.seconds(clock.measure {
                try BinaryCopyCodec.decode(copy, schema: schema, batchSize: batchSize) { decodedRows += $0.rowCount }
            }))
            guard decodedRows == rows else { throw ValidationError("decoded \(decodedRows) rows of \(rows)") }
            wireDecodeSeconds = min(wireDecodeSeconds, try CodecBenchmark.deframeAndDecode(stream).0)
        }

        print("binary COPY: \(CodecBenchmark.format(Double(copyBytes) / 1_048_576)) MB for \(rows) rows with the metadata columns "
              + "(\(copyBytes / rows) bytes per row); wire stream \(CodecBenchmark.format(Double(stream.count) / 1_048_576)) MB")
        for (label, seconds, reference, referenceLabel) in [("encode (destination)", encodeSeconds, wireDecodeSeconds, "deframe+decode"),
                                                            ("decode (source)", decodeSeconds, wireEncodeSeconds, "encode+frame")] {
            print("\(label): \(CodecBenchmark.format(seconds)) s, \(CodecBenchmark.format(seconds / Double(rows) * 1e6)) µs/row, "
                  + "\(CodecBenchmark.format(Double(rows) / seconds / 1e6)) M rows/s; "
                  + "\(CodecBenchmark.format(seconds / reference)) x the wire codec's \(referenceLabel) time (\(CodecBenchmark.format(reference)) s)")
        }
        let total = encodeSeconds + decodeSeconds + wireEncodeSeconds + wireDecodeSeconds
        print("a pipeline's codec work (COPY decode, wire encode and decode, COPY encode): \(CodecBenchmark.format(total / Double(rows) * 1e6)) µs/row")
    }
}
