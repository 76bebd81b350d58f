import SluiceWire

/// The frame reader: the same byte stream, read in one piece or in pieces of any size, gives
/// the same frames and the same error, never traps, and the frames it returns re-encode to the
/// bytes they came from.
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
        var encoded: [UInt8] = []
        for frame in whole.frames { Frame.append(payload: frame, to: &encoded) }
        precondition(encoded == Array(stream.prefix(whole.consumed)), "frames do not re-encode to their bytes")
    }

    private static func read(_ stream: [UInt8], pieceSize: Int, maxFrameSize: Int) -> (frames: [[UInt8]], error: ProtocolError?, consumed: Int) {
        var decoder = FrameDecoder(maxFrameSize: maxFrameSize)
        var frames: [[UInt8]] = []
        var start = 0
        do {
            while start < stream.count {
                decoder.append(stream[start ..< min(start + pieceSize, stream.count)])
                start += pieceSize
                while let frame = try decoder.nextFrame() { frames.append(frame) }
            }
            try decoder.finish()
        } catch {
            return (frames, error, decoder.nextFrameOffset)
        }
        precondition(decoder.framesDecoded == frames.count)
        return (frames, nil, decoder.nextFrameOffset)
    }
}
