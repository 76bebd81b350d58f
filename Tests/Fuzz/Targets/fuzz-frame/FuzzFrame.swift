import SluiceWire

/// The frame reader: the same byte stream, read in one piece or in pieces of any size (with or
/// without large payloads taken out and read straight into place, as `FrameReader` does),
/// gives the same frames and the same error, never traps, and the frames it returns re-encode
/// to the bytes they came from.
///
/// Input: one byte choosing the piece size (low nibble + 1) and the maximum frame size
/// (high nibble × 64), then the stream.
enum FuzzFrame {
    static func run(_ input: [UInt8]) {
        guard let control = input.first else { return }
        let stream = Array(input.dropFirst())
        let maxFrameSize = Int(control >> 4) * 64
        let whole = read(stream, pieceSize: max(stream.count, 1), maxFrameSize: maxFrameSize)
        let pieces = read(stream, pieceSize: Int(control & 0x0F) + 1, maxFrameSize: maxFrameSize)
        precondition(whole.frames == pieces.frames && whole.error == pieces.error, "piece size changed what was read")
        let direct = read(stream, pieceSize: Int(control & 0x0F) + 1, maxFrameSize: maxFrameSize, directMinimum: Int(control >> 4) * 16)
        precondition(whole.frames == direct.frames && whole.error == direct.error, "reading payloads straight into place changed what was read")
        var encoded: [UInt8] = []
        for frame in whole.frames { Frame.append(payload: frame, to: &encoded) }
        precondition(encoded == Array(stream.prefix(whole.consumed)), "frames do not re-encode to their bytes")
    }

    /// `directMinimum`: payloads of this size or more are taken out once their header arrived,
    /// and the rest read from the stream at once (nil: never).
    private static func read(_ stream: [UInt8], pieceSize: Int, maxFrameSize: Int,
                             directMinimum: Int? = nil) -> (frames: [[UInt8]], error: ProtocolError?, consumed: Int) {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var frames: [[UInt8]] = []
        var start = 0
        do {
            while start < stream.count {
                decoder.append(stream[start ..< min(start + pieceSize, stream.count)])
                start += pieceSize
                while true {
                    if let frame = try decoder.nextFrame() {
                        frames.append(frame)
                    } else if let directMinimum, let incomplete = try decoder.takeIncompleteFrame(minimumLength: directMinimum) {
                        let rest = stream[min(start, stream.count) ..< min(start + incomplete.length - incomplete.prefix.count, stream.count)]
                        start += rest.count
                        let payload = Array(incomplete.prefix) + rest
                        guard payload.count == incomplete.length else { return (frames, incomplete.truncated(received: payload.count), -1) }
                        frames.append(payload)
                    } else {
                        break
                    }
                }
            }
            try decoder.finish()
        } catch {
            return (frames, error, decoder.nextFrameOffset)
        }
        precondition(decoder.framesDecoded == frames.count)
        return (frames, nil, decoder.nextFrameOffset)
    }
}
