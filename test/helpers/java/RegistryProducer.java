import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.util.JsonFormat;
import io.apicurio.registry.utils.protobuf.schema.FileDescriptorUtils;
import java.io.File;
import java.util.Optional;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Writes test records with Apicurio Registry's own Kafka serializers (Avro, Protobuf, JSON
 * Schema), configured for the Confluent wire format (4-byte content ids, Protobuf message
 * indexes). The schemas are registered beforehand through the registry's Confluent-compatible
 * API; the serializers use the latest version of the `<topic>-value` / `<topic>-key` subject.
 *
 * Usage: java -cp <serde jars>:<dir> RegistryProducer <job.json>
 *   job: { brokers, registryUrl (Apicurio core API, /apis/registry/v3), sends: [
 *          { topic, format: avro|protobuf|jsonschema, schema, messageName?, keySchema?, keyFormat?,
 *            records: [{ key, value }] } ] }
 * Prints one line per record: `<partition> <offset>`.
 */
public class RegistryProducer {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    JsonNode job = MAPPER.readTree(new File(args[0]));
    for (JsonNode send : job.get("sends")) {
      String topic = send.get("topic").asText();
      String format = send.get("format").asText();
      String keyFormat = send.path("keyFormat").asText("string");
      Properties p = new Properties();
      p.put("bootstrap.servers", job.get("brokers").asText());
      p.put("acks", "all");
      p.put("key.serializer", serializer(keyFormat));
      p.put("value.serializer", serializer(format));
      p.put("apicurio.registry.url", job.get("registryUrl").asText());
      p.put("apicurio.registry.auto-register", "false");
      p.put("apicurio.registry.find-latest", "true");
      // Confluent framing: magic byte, 4-byte id (the content id the ccompat API hands out).
      p.put("apicurio.registry.id-handler", "io.apicurio.registry.serde.Default4ByteIdHandler");
      p.put("apicurio.registry.use-id", "contentId");
      // Protobuf: Confluent's message indexes instead of Apicurio's own type reference.
      p.put("apicurio.registry.serde.send-indexes", "true");
      p.put("apicurio.registry.serde.send-type-ref", "false");
      try (KafkaProducer<Object, Object> producer = new KafkaProducer<>(p)) {
        for (JsonNode rec : send.get("records")) {
          Object key = keyFormat.equals("string")
              ? rec.get("key").asText()
              : toValue(keyFormat, send.get("keySchema").asText(), send.path("keyMessageName").asText(""), rec.get("key"));
          Object value = toValue(format, send.get("schema").asText(), send.path("messageName").asText(""), rec.get("value"));
          RecordMetadata md = producer.send(new ProducerRecord<>(topic, key, value)).get();
          System.out.println(md.partition() + " " + md.offset());
        }
      }
    }
  }

  private static String serializer(String format) {
    switch (format) {
      case "string": return "org.apache.kafka.common.serialization.StringSerializer";
      case "avro": return "io.apicurio.registry.serde.avro.AvroKafkaSerializer";
      case "protobuf": return "io.apicurio.registry.serde.protobuf.ProtobufKafkaSerializer";
      case "jsonschema": return "io.apicurio.registry.serde.jsonschema.JsonSchemaKafkaSerializer";
      default: throw new IllegalArgumentException("format " + format);
    }
  }

  /** The record value in the form each serializer takes, built from its JSON. */
  private static Object toValue(String format, String schema, String messageName, JsonNode json) throws Exception {
    switch (format) {
      case "avro": {
        Schema s = new Schema.Parser().parse(schema);
        return new GenericDatumReader<Object>(s).read(null, DecoderFactory.get().jsonDecoder(s, json.toString()));
      }
      case "protobuf": {
        Descriptors.FileDescriptor fd =
            FileDescriptorUtils.protoFileToFileDescriptor(schema, "schema.proto", Optional.empty());
        Descriptors.Descriptor d = fd.findMessageTypeByName(messageName);
        if (d == null) throw new IllegalArgumentException("no message " + messageName);
        DynamicMessage.Builder b = DynamicMessage.newBuilder(d);
        JsonFormat.parser().merge(json.toString(), b);
        return b.build();
      }
      case "jsonschema":
        return json;
      default:
        throw new IllegalArgumentException("format " + format);
    }
  }
}
