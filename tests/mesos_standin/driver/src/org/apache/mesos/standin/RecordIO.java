/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Mesos RecordIO framing (apache/mesos docs/recordio.md and docs/scheduler-http-api.md):
 * {@code record = record-size LF record-data}, {@code record-size = 1*DIGIT} (an unsigned 64-bit
 * decimal). Chunk boundaries of the underlying HTTP stream are meaningless: a chunk may carry several
 * records or a fraction of one.
 */
public final class RecordIO {

    /** Records larger than this are refused (a corrupt length would otherwise allocate gigabytes). */
    public static final long MAX_RECORD_SIZE = 64L * 1024 * 1024;

    /** At most this many length digits (uint64 has 20). */
    private static final int MAX_LENGTH_DIGITS = 20;

    private RecordIO() {
    }

    /** {@code <decimal length>\n<bytes>}. */
    public static byte[] encode(byte[] record) {
        byte[] header = (record.length + "\n").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[header.length + record.length];
        System.arraycopy(header, 0, out, 0, header.length);
        System.arraycopy(record, 0, out, header.length, record.length);
        return out;
    }

    /**
     * Incremental decoder: feed it the bytes as they arrive, it returns the records completed so far.
     * After an error the decoder is unusable (the stream cannot be resynchronised).
     */
    public static final class Decoder {
        private final StringBuilder digits = new StringBuilder();
        private ByteArrayOutputStream record; // non-null while reading record data
        private long remaining;
        private boolean failed;

        /** Decodes {@code len} bytes of {@code data} from {@code off}; returns completed records in order. */
        public List<byte[]> decode(byte[] data, int off, int len) throws IOException {
            if (failed) {
                throw new IOException("RecordIO decoder already failed");
            }
            List<byte[]> out = new ArrayList<>();
            int i = off;
            int end = off + len;
            try {
                while (i < end) {
                    if (record == null) {
                        byte b = data[i++];
                        if (b == '\n') {
                            if (digits.length() == 0) {
                                continue; // an empty length line is skipped (docs' reference reader)
                            }
                            long size = parseLength(digits.toString());
                            digits.setLength(0);
                            if (size == 0) {
                                out.add(new byte[0]);
                                continue;
                            }
                            record = new ByteArrayOutputStream((int) Math.min(size, 1 << 16));
                            remaining = size;
                        } else if (b >= '0' && b <= '9') {
                            if (digits.length() >= MAX_LENGTH_DIGITS) {
                                throw new IOException("RecordIO record length has more than "
                                        + MAX_LENGTH_DIGITS + " digits");
                            }
                            digits.append((char) b);
                        } else {
                            throw new IOException("invalid RecordIO record length: unexpected byte 0x"
                                    + Integer.toHexString(b & 0xff) + " after '" + digits + "'");
                        }
                    } else {
                        int n = (int) Math.min(remaining, end - i);
                        record.write(data, i, n);
                        i += n;
                        remaining -= n;
                        if (remaining == 0) {
                            out.add(record.toByteArray());
                            record = null;
                        }
                    }
                }
            } catch (IOException e) {
                failed = true;
                throw e;
            }
            return out;
        }

        /** True when no partial record (or partial length) is pending. */
        public boolean atRecordBoundary() {
            return record == null && digits.length() == 0;
        }

        private static long parseLength(String text) throws IOException {
            long size;
            try {
                size = Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new IOException("invalid RecordIO record length '" + text + "'");
            }
            if (size > MAX_RECORD_SIZE) {
                throw new IOException("RecordIO record of " + size + " bytes exceeds the limit of "
                        + MAX_RECORD_SIZE);
            }
            return size;
        }
    }

    /** Blocking reader of records from a stream, built on {@link Decoder}. */
    public static final class Reader {
        private final InputStream in;
        private final Decoder decoder = new Decoder();
        private final ArrayDeque<byte[]> ready = new ArrayDeque<>();
        private final byte[] buffer = new byte[16 * 1024];

        public Reader(InputStream in) {
            this.in = in;
        }

        /**
         * The next record; {@code null} when the stream ends cleanly between records.
         *
         * @throws EOFException when the stream ends inside a record
         */
        public byte[] next() throws IOException {
            while (ready.isEmpty()) {
                int n = in.read(buffer);
                if (n < 0) {
                    if (!decoder.atRecordBoundary()) {
                        throw new EOFException("stream ended inside a RecordIO record");
                    }
                    return null;
                }
                ready.addAll(decoder.decode(buffer, 0, n));
            }
            return ready.poll();
        }
    }
}
