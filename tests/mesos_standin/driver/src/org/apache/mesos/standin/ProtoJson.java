/*
 * TEST-ONLY STAND-IN, NOT LIBMESOS. Part of the streamops.flink_mesos test harness.
 */
package org.apache.mesos.standin;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.flink.mesos.shaded.com.google.protobuf.ByteString;
import org.apache.flink.mesos.shaded.com.google.protobuf.Descriptors.EnumValueDescriptor;
import org.apache.flink.mesos.shaded.com.google.protobuf.Descriptors.FieldDescriptor;
import org.apache.flink.mesos.shaded.com.google.protobuf.InvalidProtocolBufferException;
import org.apache.flink.mesos.shaded.com.google.protobuf.Message;
import org.apache.flink.mesos.shaded.com.google.protobuf.MessageLite;
import org.apache.flink.mesos.shaded.com.google.protobuf.MessageOrBuilder;

/**
 * Protobuf messages to and from Mesos JSON, generically from the message descriptors, following the
 * rules of Mesos's own JSON mapping (stout {@code JSON::protobuf} / {@code protobuf::parse}): members are
 * named as the fields in the .proto; enums by value name; {@code bytes} as standard base64; repeated
 * fields as arrays (omitted when empty); nested messages as objects; unset optional fields omitted;
 * 64-bit integers as JSON numbers. When reading, integers and floating point values are accepted as
 * numbers or numeric strings, unknown members and unknown enum names are ignored (the master may be
 * newer than the protos bundled in flink-dist, which are those of Mesos 1.7.0).
 *
 * <p>Also: {@link #evolve}, the v0 &lt;-&gt; v1 conversion by re-serialisation, exactly as Mesos does it
 * in {@code src/internal/evolve.cpp} / {@code devolve.cpp}. The v0 ({@code org.apache.mesos.Protos})
 * and v1 ({@code org.apache.mesos.v1.Protos}) messages share field numbers and enum numbers; only
 * names differ ({@code slave_id} = {@code agent_id}, {@code SlaveInfo} = {@code AgentInfo},
 * {@code REASON_SLAVE_REMOVED} = {@code REASON_AGENT_REMOVED}, {@code SOURCE_SLAVE} =
 * {@code SOURCE_AGENT}, ...). Converting through the wire format therefore renames every field and
 * enum value, in every nested message, without a hand-kept rename table.
 */
public final class ProtoJson {

    private ProtoJson() {
    }

    // ----------------------------------------------------------------------------------------------
    // v0 <-> v1
    // ----------------------------------------------------------------------------------------------

    /**
     * Re-reads {@code source}'s wire bytes into {@code target} (merging), returning the partial message
     * (required fields are not enforced, as in Mesos' evolve()).
     */
    @SuppressWarnings("unchecked")
    public static <T extends Message> T evolve(MessageLite source, Message.Builder target) {
        try {
            return (T) target.mergeFrom(source.toByteString()).buildPartial();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("cannot convert " + source.getClass().getName() + " to "
                    + target.getDescriptorForType().getFullName() + ": " + e.getMessage(), e);
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Message -> JSON
    // ----------------------------------------------------------------------------------------------

    /** The message as a JSON object (see the class comment for the mapping). */
    public static Map<String, Object> toJson(MessageOrBuilder message) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (FieldDescriptor field : message.getDescriptorForType().getFields()) {
            if (field.isRepeated()) {
                int count = message.getRepeatedFieldCount(field);
                if (count == 0) {
                    continue;
                }
                List<Object> values = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    values.add(valueToJson(field, message.getRepeatedField(field, i)));
                }
                out.put(field.getName(), values);
            } else if (message.hasField(field)) {
                out.put(field.getName(), valueToJson(field, message.getField(field)));
            }
        }
        return out;
    }

    /** The message as JSON text. */
    public static String toJsonString(MessageOrBuilder message) {
        return Json.write(toJson(message));
    }

    private static Object valueToJson(FieldDescriptor field, Object value) {
        switch (field.getType()) {
            case MESSAGE:
            case GROUP:
                return toJson((MessageOrBuilder) value);
            case ENUM:
                return ((EnumValueDescriptor) value).getName();
            case BYTES:
                return Base64.getEncoder().encodeToString(((ByteString) value).toByteArray());
            case UINT32:
            case FIXED32:
                return Integer.toUnsignedLong((Integer) value);
            case UINT64:
            case FIXED64:
                long v = (Long) value;
                return v >= 0 ? (Object) v : new BigInteger(Long.toUnsignedString(v));
            default:
                // STRING, BOOL, INT32, SINT32, SFIXED32, INT64, SINT64, SFIXED64, FLOAT, DOUBLE
                return value;
        }
    }

    // ----------------------------------------------------------------------------------------------
    // JSON -> Message
    // ----------------------------------------------------------------------------------------------

    /**
     * Merges a JSON object into {@code builder}. Unknown members and unknown enum value names are
     * ignored; a member of the wrong JSON type is an error ({@link IllegalArgumentException}).
     */
    public static <B extends Message.Builder> B merge(Map<String, Object> json, B builder) {
        mergeInto(json, builder, builder.getDescriptorForType().getFullName());
        return builder;
    }

    @SuppressWarnings("unchecked")
    private static void mergeInto(Map<String, Object> json, Message.Builder builder, String path) {
        for (Map.Entry<String, Object> member : json.entrySet()) {
            FieldDescriptor field = builder.getDescriptorForType().findFieldByName(member.getKey());
            Object value = member.getValue();
            if (field == null || value == null) {
                continue;
            }
            String where = path + "." + field.getName();
            if (field.isRepeated()) {
                if (!(value instanceof List)) {
                    throw new IllegalArgumentException(where + ": expected an array, got " + Json.describe(value));
                }
                int index = 0;
                for (Object item : (List<Object>) value) {
                    Object converted = fromJsonValue(field, builder, item, where + "[" + index++ + "]");
                    if (converted != null) {
                        builder.addRepeatedField(field, converted);
                    }
                }
            } else {
                Object converted = fromJsonValue(field, builder, value, where);
                if (converted != null) {
                    builder.setField(field, converted);
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Object fromJsonValue(FieldDescriptor field, Message.Builder parent, Object value, String where) {
        switch (field.getType()) {
            case MESSAGE:
            case GROUP: {
                if (!(value instanceof Map)) {
                    throw new IllegalArgumentException(where + ": expected an object, got " + Json.describe(value));
                }
                Message.Builder sub = parent.newBuilderForField(field);
                mergeInto((Map<String, Object>) value, sub, where);
                return sub.buildPartial();
            }
            case ENUM: {
                EnumValueDescriptor e = null;
                if (value instanceof String) {
                    e = field.getEnumType().findValueByName((String) value);
                } else if (value instanceof Long) {
                    e = field.getEnumType().findValueByNumber(((Long) value).intValue());
                } else {
                    throw new IllegalArgumentException(where + ": expected an enum name, got " + Json.describe(value));
                }
                return e; // null (unknown to these protos): the member is ignored
            }
            case STRING:
                if (!(value instanceof String)) {
                    throw new IllegalArgumentException(where + ": expected a string, got " + Json.describe(value));
                }
                return value;
            case BYTES: {
                if (!(value instanceof String)) {
                    throw new IllegalArgumentException(where + ": expected base64 text, got " + Json.describe(value));
                }
                try {
                    return ByteString.copyFrom(Base64.getDecoder().decode((String) value));
                } catch (IllegalArgumentException e) {
                    try {
                        return ByteString.copyFrom(Base64.getMimeDecoder().decode((String) value));
                    } catch (IllegalArgumentException e2) {
                        throw new IllegalArgumentException(where + ": invalid base64: " + e.getMessage());
                    }
                }
            }
            case BOOL:
                if (value instanceof Boolean) {
                    return value;
                }
                if ("true".equals(value) || "false".equals(value)) {
                    return Boolean.valueOf((String) value);
                }
                throw new IllegalArgumentException(where + ": expected a boolean, got " + Json.describe(value));
            case DOUBLE:
                return toBigDecimal(value, where).doubleValue();
            case FLOAT:
                return toBigDecimal(value, where).floatValue();
            case INT32:
            case SINT32:
            case SFIXED32:
                return (int) toLong(value, where, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case UINT32:
            case FIXED32:
                return (int) toLong(value, where, 0, 0xFFFFFFFFL);
            case INT64:
            case SINT64:
            case SFIXED64:
                return toLong(value, where, Long.MIN_VALUE, Long.MAX_VALUE);
            case UINT64:
            case FIXED64: {
                BigInteger big = toBigInteger(value, where);
                if (big.signum() < 0 || big.bitLength() > 64) {
                    throw new IllegalArgumentException(where + ": " + big + " is out of range for uint64");
                }
                return big.longValue();
            }
            default:
                throw new IllegalArgumentException(where + ": unsupported field type " + field.getType());
        }
    }

    private static BigDecimal toBigDecimal(Object value, String where) {
        try {
            if (value instanceof Long || value instanceof BigInteger) {
                return new BigDecimal(value.toString());
            }
            if (value instanceof Double) {
                return BigDecimal.valueOf((Double) value);
            }
            if (value instanceof String) {
                return new BigDecimal(((String) value).trim());
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": '" + value + "' is not a number");
        }
        throw new IllegalArgumentException(where + ": expected a number, got " + Json.describe(value));
    }

    private static BigInteger toBigInteger(Object value, String where) {
        BigDecimal d = toBigDecimal(value, where);
        try {
            return d.toBigIntegerExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(where + ": " + value + " is not an integer");
        }
    }

    private static long toLong(Object value, String where, long min, long max) {
        BigInteger big = toBigInteger(value, where);
        if (big.compareTo(BigInteger.valueOf(min)) < 0 || big.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new IllegalArgumentException(where + ": " + big + " is out of range");
        }
        return big.longValue();
    }
}
