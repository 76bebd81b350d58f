@testable import PostgresPlugin
@testable import SluiceWire

/// The source's binary COPY decoder (CopyBatchDecoder, ColumnAccumulator, NumericText), fed as
/// the Read feeds it: any COPY stream either fails with a ``CopyFormatError`` or becomes
/// batches that fit the frame size, decode on the host's side, and pass validation (for the
/// columns whose values the decoder, not the server, answers for).
///
/// Input: a byte for the column count (1–4), whether a key field follows the columns, and the
/// frame size; a byte per column choosing its decoding; then the COPY data.
enum FuzzPGBinary {
    private static let scalars: [(FieldDecoding, TypeKind, checked: Bool)] = [
        (.bool, .bool, true), (.int16, .int16, true), (.int32, .int32, true), (.int64, .int64, true),
        (.float32, .float32, true), (.float64, .float64, true), (.numeric, .decimal, true), (.raw, .bytes, true),
        (.jsonb, .json, false), (.date, .date, true), (.time, .time, false), (.timetz, .timetz, false),
        (.timestamp, .timestamp, true), (.interval, .interval, true), (.uuid, .uuid, true),
    ]

    static func run(_ input: [UInt8]) {
        guard let control = input.first else { return }
        let columnCount = Int(control & 3) + 1
        guard input.count > columnCount else { return }
        let hasKey = control & 4 != 0
        let choices = input[1 ... columnCount].map { Int($0) % (2 * scalars.count) }
        let chunk = Array(input[(columnCount + 1)...])
        let decodings = choices.map { $0 < scalars.count ? scalars[$0].0 : .array(scalars[$0 - scalars.count].0) }
        let columns = choices.enumerated().map { position, choice in
            let scalar = scalars[choice % scalars.count]
            return Column(name: "c\(position)", type: choice < scalars.count ? LogicalType(scalar.1) : LogicalType(.list, elementKind: scalar.1))
        }
        let checked = choices.map { scalars[$0 % scalars.count].checked }
        let stream = StreamID(namespace: "public", name: "t")
        let maxFrameSize = CopyBatchDecoder.envelopeBytes(vectors: 2 * columnCount) + Int(control >> 3) * 64
        let decoder = CopyBatchDecoder(decodings: decodings, extraFields: hasKey ? 1 : 0,
                                       keyFields: hasKey ? [KeyField(field: columnCount, integer: nil)] : [], maxFrameSize: maxFrameSize)
        var position = 0
        do {
            while position < chunk.count && !decoder.ended {
                let before = position
                position = try decoder.decode(chunk, from: position, maxRows: 3, maxBytes: 1 << 16)
                if decoder.rows >= 3 || decoder.full {
                    check(decoder.takeBatchWithKey(stream: stream).0, columns: columns, checked: checked, maxFrameSize: maxFrameSize)
                } else {
                    precondition(position > before || decoder.ended, "the decoder made no progress")
                }
            }
        } catch {
            return
        }
        if decoder.rows > 0 { check(decoder.takeBatchWithKey(stream: stream).0, columns: columns, checked: checked, maxFrameSize: maxFrameSize) }
    }

    private static func check(_ batch: RecordBatch, columns: [Column], checked: [Bool], maxFrameSize: Int) {
        let payload = WireCodec.encode(PluginMessage.records(batch))
        precondition(payload.count <= maxFrameSize, "a batch of \(payload.count) bytes is over the frame size \(maxFrameSize)")
        guard case .records(let decoded)? = try? WireCodec.decodePluginMessage(payload) else {
            preconditionFailure("the batch does not decode on the host's side")
        }
        let kept = columns.indices.filter { checked[$0] }
        var subset = RecordBatch(stream: decoded.stream, rowCount: decoded.rowCount, columns: kept.map { decoded.columns[$0] })
        do {
            try subset.validate(against: StreamSchema(stream: decoded.stream, columns: kept.map { columns[$0] }))
        } catch {
            preconditionFailure("the batch is invalid: \(error)")
        }
    }
}
