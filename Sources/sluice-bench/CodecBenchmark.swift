import ArgumentParser
import Foundation
import SluiceWire

/// `--rows`, `--batch-size` and `--runs` of the in-memory benchmarks (`codec`, `jsonl`, `copy`):
/// the mixed table's rows cut into batches, each direction run several times and the best kept.
struct BatchRunOptions: ParsableArguments {
    @Option(help: "Rows per run.")
    var rows = 1_000_000

    @Option(help: "Rows per record batch.")
    var batchSize = 10_000

    @Option(help: "Runs of each direction; the best is reported.")
    var runs = 5

    mutating func validate() throws {
        guard rows > 0, batchSize > 0, runs > 0 else { throw ValidationError("--rows, --batch-size and --runs must be positive") }
    }

    /// The mixed table's `rows` rows (``CodecBenchmark/batch(firstRow:rowCount:)``) in batches of `batchSize`.
    func batches() -> [RecordBatch] {
        stride(from: 0, to: rows, by: batchSize).map { CodecBenchmark.batch(firstRow: $0, rowCount: min(batchSize, rows - $0)) }
    }
}

/// `sluice-bench codec`: the wire layer alone. Encodes record batches of a mixed 8-column table
/// into frames, then deframes and decodes them, and checks both directions against 5M rows/s.
struct CodecBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "codec",
        abstract: "Measure encode+frame and deframe+decode of record batches (mixed 8-column table) against 5M rows/s.")

    /// The target, in rows per second, each way.
    static let targetRowsPerSecond = 5_000_000.0
    /// Bytes handed to the frame decoder per read, as a pipe delivers them.
    static let readSize = 64 * 1024

    @OptionGroup var options: BatchRunOptions

    mutating func run() throws {
        let (rows, batchSize, runs) = (options.rows, options.batchSize, options.runs)
        let start = ContinuousClock.now
        let batches = options.batches()
        print("built \(batches.count) batches of up to \(batchSize) rows in \(Self.format(seconds(since: start))) s")

        var stream: [UInt8] = []
        var encodeSeconds = Double.infinity
        for _ in 0..<runs {
            let (seconds, encoded) = Self.encodeAndFrame(batches, capacity: stream.count)
            encodeSeconds = min(encodeSeconds, seconds)
            stream = encoded
        }
        var decodeSeconds = Double.infinity
        for _ in 0..<runs {
            let (seconds, decoded) = try Self.deframeAndDecode(stream)
            decodeSeconds = min(decodeSeconds, seconds)
            guard decoded.rows == rows, decoded.first == batches.first else {
                throw ValidationError("decoding gave \(decoded.rows) rows, or a first batch unlike the one encoded")
            }
        }

        let megabytes = Double(stream.count) / 1_048_576
        print("stream: \(Self.format(megabytes)) MB for \(rows) rows (\(stream.count / rows) bytes per row)")
        var passed = true
        for (label, seconds) in [("encode+frame", encodeSeconds), ("deframe+decode", decodeSeconds)] {
            let rate = Double(rows) / seconds
            let pass = rate >= Self.targetRowsPerSecond
            passed = passed && pass
            print("\(label): \(Self.format(seconds)) s, \(Self.format(rate / 1e6)) M rows/s, \(Self.format(megabytes / seconds)) MB/s, "
                  + "\(Self.format(rate / Self.targetRowsPerSecond)) x target: \(pass ? "PASS" : "FAIL")")
        }
        if !passed { throw ExitCode(1) }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double { Self.seconds(start.duration(to: .now)) }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func format(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Every batch encoded as a PluginMessage and framed into one stream.
    static func encodeAndFrame(_ batches: [RecordBatch], capacity: Int) -> (Double, [UInt8]) {
        let clock = ContinuousClock()
        var stream: [UInt8] = []
        let duration = clock.measure {
            stream.reserveCapacity(capacity)
            for batch in batches {
                Frame.append(payload: WireCodec.encode(PluginMessage.records(batch)), to: &stream)
            }
        }
        return (seconds(duration), stream)
    }

    /// The stream read back in pipe-sized chunks, deframed and decoded.
    static func deframeAndDecode(_ stream: [UInt8]) throws -> (Double, (rows: Int, first: RecordBatch?)) {
        let clock = ContinuousClock()
        var rows = 0
        var first: RecordBatch?
        var decoder = FrameDecoder()
        let duration = try clock.measure {
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + readSize)
                decoder.append(stream[offset..<end])
                offset = end
                while let payload = try decoder.nextFrame() {
                    guard case .records(let batch) = try WireCodec.decodePluginMessage(payload) else {
                        throw ValidationError("a frame did not hold a RecordBatch")
                    }
                    rows += batch.rowCount
                    if first == nil { first = batch }
                }
            }
            try decoder.finish()
        }
        return (seconds(duration), (rows, first))
    }

    /// The benchmark table: id int64, name string, price decimal(12,2), score float64,
    /// active bool (a tenth null), created timestamptz, doc json, tags list<string> (0–3 tags).
    static let schema = StreamSchema(
        stream: StreamID(namespace: "public", name: "codec_bench"),
        columns: [
            Column(name: "id", type: LogicalType(.int64), nullable: false),
            Column(name: "name", type: LogicalType(.string)),
            Column(name: "price", type: LogicalType(.decimal, precision: 12, scale: 2)),
            Column(name: "score", type: LogicalType(.float64)),
            Column(name: "active", type: LogicalType(.bool)),
            Column(name: "created", type: LogicalType(.timestamptz)),
            Column(name: "doc", type: LogicalType(.json)),
            Column(name: "tags", type: .list(of: .string)),
        ],
        primaryKey: ["id"]
    )

    private static let tagNames = ["red", "green", "blue"]

    static func batch(firstRow: Int, rowCount: Int) -> RecordBatch {
        var builders = schema.columns.map { ColumnBuilder(type: $0.type, capacity: rowCount) }
        for row in firstRow..<firstRow + rowCount {
            builders[0].append(int64: Int64(row))
            builders[1].append(string: "customer \(row)")
            builders[2].append(string: "\(row % 100_000).\(row % 10)\(row % 7)")
            builders[3].append(float64: Double(row) * 0.37)
            if row % 10 == 0 { builders[4].appendNull() } else { builders[4].append(bool: row % 3 == 0) }
            builders[5].append(int64: 1_700_000_000_000_000 + Int64(row) * 1_000)
            builders[6].append(string: "{\"id\": \(row), \"kind\": \"order\"}")
            builders[7].appendList { tags in
                for tag in 0..<(row % 4) { tags.append(string: tagNames[tag % tagNames.count]) }
            }
        }
        return RecordBatch(stream: schema.stream, rowCount: rowCount, columns: builders.map { $0.finish() })
    }
}
