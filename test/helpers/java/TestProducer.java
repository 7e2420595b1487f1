import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DeletedRecords;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A test producer (and the one admin call tests need, `deleteRecords`) on the official Apache Kafka
 * Java client, driven by JSON lines on stdin (one command per line, one JSON answer per line on
 * stdout). test/helpers/java-producer.ts compiles
 * and drives it; see there for the commands.
 */
public final class TestProducer {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final String bootstrap;
  private final Map<String, KafkaProducer<byte[], byte[]>> producers = new HashMap<>();
  private Admin admin;

  private TestProducer(String bootstrap) {
    this.bootstrap = bootstrap;
  }

  public static void main(String[] args) throws Exception {
    TestProducer p = new TestProducer(args[0]);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    System.out.println("{\"ready\":true}");
    System.out.flush();
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      ObjectNode answer = JSON.createObjectNode();
      try {
        JsonNode cmd = JSON.readTree(line);
        answer.put("id", cmd.path("id").asInt());
        p.handle(cmd, answer);
        answer.put("ok", true);
      } catch (Exception e) {
        answer.put("ok", false);
        answer.put("error", e.toString());
      }
      System.out.println(JSON.writeValueAsString(answer));
      System.out.flush();
    }
    p.closeAll();
  }

  private void handle(JsonNode cmd, ObjectNode answer) throws Exception {
    String op = cmd.path("op").asText();
    if (op.equals("send")) send(cmd, answer);
    else if (op.equals("deleteRecords")) deleteRecords(cmd, answer);
    else if (op.equals("close")) closeAll();
    else throw new IllegalArgumentException("unknown op " + op);
  }

  /** One producer per distinct (compression, transactional id, batching) setting, reused. */
  private KafkaProducer<byte[], byte[]> producer(JsonNode cmd) {
    String compression = cmd.path("compression").asText("none");
    String txId = cmd.path("transactionalId").asText("");
    int batchSize = cmd.path("batchSize").asInt(16384);
    int lingerMs = cmd.path("lingerMs").asInt(5);
    String key = compression + "|" + txId + "|" + batchSize + "|" + lingerMs;
    KafkaProducer<byte[], byte[]> existing = producers.get(key);
    if (existing != null) return existing;
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, compression);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(batchSize));
    props.put(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(lingerMs));
    props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, String.valueOf(8 * 1024 * 1024));
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    if (!txId.isEmpty()) props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txId);
    KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props);
    if (!txId.isEmpty()) p.initTransactions();
    producers.put(key, p);
    return p;
  }

  private static byte[] bytes(JsonNode n) {
    return n == null || n.isNull() || n.isMissingNode() ? null : n.asText().getBytes(StandardCharsets.UTF_8);
  }

  private void send(JsonNode cmd, ObjectNode answer) throws Exception {
    String topic = cmd.path("topic").asText();
    String tx = cmd.path("transaction").asText("");
    KafkaProducer<byte[], byte[]> p = producer(cmd);
    if (!tx.isEmpty()) p.beginTransaction();
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    for (JsonNode r : cmd.path("records")) {
      Integer partition = r.hasNonNull("partition") ? r.get("partition").asInt() : null;
      Long ts = r.hasNonNull("timestamp") ? r.get("timestamp").asLong() : null;
      RecordHeaders headers = new RecordHeaders();
      JsonNode hs = r.path("headers");
      for (Iterator<Map.Entry<String, JsonNode>> it = hs.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> h = it.next();
        headers.add(h.getKey(), bytes(h.getValue()));
      }
      sent.add(p.send(new ProducerRecord<>(topic, partition, ts, bytes(r.get("key")), bytes(r.get("value")), headers)));
    }
    p.flush();
    ArrayNode offsets = answer.putArray("records");
    for (Future<RecordMetadata> f : sent) {
      RecordMetadata m = f.get();
      ObjectNode o = offsets.addObject();
      o.put("partition", m.partition());
      o.put("offset", m.offset());
    }
    if (tx.equals("commit")) p.commitTransaction();
    else if (tx.equals("abort")) p.abortTransaction();
  }

  /**
   * `Admin.deleteRecords`: `before` maps a partition to the offset below which its records are
   * deleted (as retention or `kafka-delete-records` does). Answers each partition's new log start.
   */
  private void deleteRecords(JsonNode cmd, ObjectNode answer) throws Exception {
    String topic = cmd.path("topic").asText();
    if (admin == null) {
      Properties props = new Properties();
      props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      admin = Admin.create(props);
    }
    Map<TopicPartition, RecordsToDelete> before = new HashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = cmd.path("before").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      before.put(new TopicPartition(topic, Integer.parseInt(e.getKey())), RecordsToDelete.beforeOffset(e.getValue().asLong()));
    }
    Map<TopicPartition, KafkaFuture<DeletedRecords>> deleted = admin.deleteRecords(before).lowWatermarks();
    ObjectNode starts = answer.putObject("logStart");
    for (Map.Entry<TopicPartition, KafkaFuture<DeletedRecords>> e : deleted.entrySet())
      starts.put(String.valueOf(e.getKey().partition()), e.getValue().get().lowWatermark());
  }

  private void closeAll() {
    for (KafkaProducer<byte[], byte[]> p : producers.values()) p.close();
    producers.clear();
    if (admin != null) admin.close();
    admin = null;
  }
}
