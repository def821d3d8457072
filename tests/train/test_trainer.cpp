// Trainer tests on a small real subset of FER-2013 (from ../shared/data), single-threaded so
// runs are bit-for-bit repeatable.
#include <gtest/gtest.h>

#include <fstream>

#include "preprocess/preprocess.hpp"
#include "model/classifier.hpp"
#include "model/model_file.hpp"
#include "model/slim.hpp"
#include "test_util.hpp"
#include "train/trainer.hpp"

using namespace moodtunes;
using moodtunes::test::TempDir;

namespace {
TrainOptions small_run(const std::filesystem::path& out) {
  TrainOptions o;
  o.train_dir = moodtunes::test::data_dir() / "fer2013/train";
  o.val_dir = moodtunes::test::data_dir() / "fer2013/val";
  o.out_dir = out;
  o.arch = ArchSpec::tiny();
  o.max_per_class = 24;
  o.batch_size = 16;
  o.epochs = 4;
  o.threads = 1;
  o.device = "cpu";  // bit-for-bit repeatability is a CPU property
  o.progress = false;
  o.seed = 7;
  return o;
}

bool have_data() { return std::filesystem::exists(moodtunes::test::data_dir() / "fer2013/train"); }
}  // namespace

TEST(Trainer, AFewStepsLowerTheLossOnTheTrainingBatch) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  o.augment = false;  // a fixed target, so the drop is the optimiser's doing
  o.lr = 0.003;
  o.optimizer = "adamw";
  o.label_smoothing = 0;
  Trainer t(o);
  // Full passes over the same 168 images: loss must fall clearly below its start.
  double first_epoch = 0, last_epoch = 0;
  const int per_epoch = 168 / 16;
  for (int e = 0; e < 4; ++e) {
    double sum = 0;
    for (int s = 0; s < per_epoch; ++s) sum += t.step();
    (e == 0 ? first_epoch : last_epoch) = sum / per_epoch;
  }
  EXPECT_LT(last_epoch, first_epoch - 0.1) << "first epoch " << first_epoch << ", last " << last_epoch;
}

TEST(Trainer, ResumeReplaysTheSameNextStep) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  const TrainOptions o = small_run(dir.path());
  double expected_loss = 0, expected_checksum = 0;
  {
    Trainer uninterrupted(o);
    for (int i = 0; i < 13; ++i) uninterrupted.step();  // crosses an epoch boundary (10 steps/epoch)
    uninterrupted.save_checkpoint(dir / "ckpt.pt");
    expected_loss = uninterrupted.step();
    expected_checksum = uninterrupted.weights_checksum();
  }
  Trainer resumed(o);
  resumed.load_checkpoint(dir / "ckpt.pt");
  EXPECT_EQ(resumed.global_step(), 13);
  const double loss = resumed.step();
  EXPECT_DOUBLE_EQ(loss, expected_loss);
  EXPECT_DOUBLE_EQ(resumed.weights_checksum(), expected_checksum);
}

TEST(Trainer, WarmStartFromACheckpointGrowsTheNetWithoutChangingItsOutput) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  EvalResult before;
  {
    Trainer small(o);
    for (int i = 0; i < 5; ++i) small.step();
    small.save_checkpoint(dir / "small.pt");
    before = small.evaluate(small.val_data());
  }
  TrainOptions grown = o;
  grown.arch.stages.back().blocks = 2;  // one more residual block in the last stage
  grown.init_model = dir / "small.pt";
  Trainer deeper(grown);
  const EvalResult after = deeper.evaluate(deeper.val_data());
  EXPECT_DOUBLE_EQ(after.loss, before.loss);  // added blocks start as exact identity
  EXPECT_EQ(after.confusion.to_json(), before.confusion.to_json());

  grown.init_model.clear();
  Trainer fresh(grown);
  EXPECT_NE(fresh.evaluate(fresh.val_data()).loss, before.loss);  // so the equality above is the copy's doing

  TrainOptions unrelated = o;
  unrelated.arch.stages.front().channels = 12;  // shapes differ: not a sub-network
  unrelated.init_model = dir / "small.pt";
  EXPECT_THROW(Trainer{unrelated}, std::invalid_argument);
}

TEST(Trainer, WarmStartFromAModelFileKeepsItsReadingInTrainingMode) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path() / "source");
  o.optimizer = "adamw";
  o.lr = 0.003;
  EvalResult source_eval, source_training;
  {
    Trainer source(o);
    for (int i = 0; i < 30; ++i) source.step();
    source_eval = source.evaluate(source.val_data());
    source_training = source.evaluate_in_training_mode(source.val_data());
    EXPECT_EQ(source.evaluate(source.val_data()).loss, source_eval.loss) << "evaluate_in_training_mode changed the net";
    source.export_model(dir / "source.mtm", {});
  }
  TrainOptions warm = o;
  warm.out_dir = dir.path() / "warm";
  warm.init_model = dir / "source.mtm";
  Trainer started(warm);
  // Eval mode: the folded model, up to float rounding.
  EXPECT_NEAR(started.evaluate(started.val_data()).loss, source_eval.loss, 1e-3);
  // Training mode: what the source computed while training, up to the batch statistics' noise
  // (measured: 7e-5 apart; an identity BatchNorm instead of the calibrated one: 0.023).
  const double training_loss = started.evaluate_in_training_mode(started.val_data()).loss;
  EXPECT_NEAR(training_loss, source_training.loss, 0.005) << "source " << source_training.loss << ", warm start " << training_loss;
}

TEST(Trainer, WarmStartFromAWiderModelFileNarrowsItFirst) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path() / "wide");
  o.arch = ArchSpec{12, {{12, 1}, {24, 1}, {24, 1}}, 40, 0.1f};
  {
    Trainer wide(o);
    for (int i = 0; i < 10; ++i) wide.step();
    wide.export_model(dir / "wide.mtm", {});
  }
  // The trainer's narrowing is slim_model()'s: starting from the wide file reads as starting from
  // the file slim_model() makes of it.
  save_model_file(slim_model(load_model_file(dir / "wide.mtm"), ArchSpec::tiny()), dir / "slim.mtm");
  TrainOptions narrowed = small_run(dir.path() / "narrowed");
  narrowed.init_model = dir / "wide.mtm";
  TrainOptions sliced = small_run(dir.path() / "sliced");
  sliced.init_model = dir / "slim.mtm";
  TrainOptions fresh = small_run(dir.path() / "fresh");
  Trainer from_wide(narrowed);
  const double narrowed_loss = from_wide.evaluate(from_wide.val_data()).loss;
  Trainer from_slice(sliced);
  EXPECT_NEAR(narrowed_loss, from_slice.evaluate(from_slice.val_data()).loss, 1e-6);
  Trainer from_scratch(fresh);
  EXPECT_NE(narrowed_loss, from_scratch.evaluate(from_scratch.val_data()).loss);

  // A file that cannot be narrowed to --arch says so.
  TrainOptions wider = small_run(dir.path() / "wider");
  wider.arch = ArchSpec{16, {{16, 1}, {32, 1}, {32, 1}}, 40, 0.1f};
  wider.init_model = dir / "wide.mtm";
  try {
    Trainer t(wider);
    FAIL() << "a narrower file warm-started a wider net";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit --arch"), std::string::npos) << e.what();
  }
}

TEST(Trainer, SameSeedSameRunDifferentSeedDifferentRun) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  Trainer a(o), b(o);
  o.seed = 8;
  Trainer c(o);
  for (int i = 0; i < 3; ++i) {
    a.step();
    b.step();
    c.step();
  }
  EXPECT_DOUBLE_EQ(a.weights_checksum(), b.weights_checksum());
  EXPECT_NE(a.weights_checksum(), c.weights_checksum());
}

// Faces of a batch are augmented in parallel, each from its own random stream: the batch must not
// depend on how many threads share the work. (LibTorch's thread count is global to the process:
// each batch is made while its trainer's count is the one in force.)
TEST(Trainer, AugmentedBatchIsTheSameForAnyThreadCount) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  o.resample_prob = 0.5;  // every random branch of the augmentation
  Trainer one(o);
  const auto serial = one.augmented_batch(5);
  o.threads = 2;
  Trainer two(o);
  const auto parallel = two.augmented_batch(5);
  ASSERT_EQ(serial.size(), static_cast<std::size_t>(o.batch_size * kFaceSize * kFaceSize));
  EXPECT_EQ(serial, parallel);
  EXPECT_NE(serial, two.augmented_batch(6));
  o.seed = 8;
  EXPECT_NE(serial, Trainer(o).augmented_batch(5));
}

TEST(Trainer, ResolutionRoundTripChangesTheRunAndIsRecorded) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path() / "plain");
  Trainer plain(o);
  o.resample_prob = 1;
  o.out_dir = dir.path() / "resampled";
  Trainer resampled(o);
  for (int i = 0; i < 3; ++i) {
    plain.step();
    resampled.step();
  }
  EXPECT_NE(plain.weights_checksum(), resampled.weights_checksum());
  o.epochs = 1;
  o.out_dir = dir.path() / "run";
  Trainer(o).run();
  EXPECT_DOUBLE_EQ(load_model_file(o.out_dir / "best.mtm").info["hyper"].value("resample_prob", -1.0), 1.0);
}

TEST(Trainer, ExportedModelAgreesWithTheTrainingGraph) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  Trainer t(o);
  for (int i = 0; i < 20; ++i) t.step();  // non-trivial BN statistics to fold
  const EvalResult torch_eval = t.evaluate(t.val_data());
  t.export_model(dir / "m.mtm", {{"val", torch_eval.confusion.to_json()}});

  const auto clf = EmotionClassifier::load(dir / "m.mtm");
  const auto& val = t.val_data();
  const ConfusionMatrix opencv_cm = score(clf, val.images, val.labels);
  // Two implementations of the same arithmetic: allow a near-tie to flip at most one face.
  int disagreements = 0;
  for (int tr = 0; tr < 7; ++tr)
    for (int p = 0; p < 7; ++p) disagreements += static_cast<int>(std::abs(opencv_cm.at(tr, p) - torch_eval.confusion.at(tr, p)));
  EXPECT_LE(disagreements, 2);
  EXPECT_NEAR(opencv_cm.accuracy(), torch_eval.confusion.accuracy(), 1.0 / double(val.size()) + 1e-9);
}

TEST(Trainer, RunWritesCheckpointMetricsPlotsAndModel) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  o.epochs = 2;
  Trainer(o).run();
  for (const char* f : {"checkpoint.pt", "best.mtm", "metrics.jsonl", "loss.png", "accuracy.png", "confusion.png"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  // --resume on a finished run does nothing more and keeps the history.
  o.resume = true;
  Trainer again(o);
  again.run();
  EXPECT_EQ(again.global_step(), 2 * 10);
}

TEST(Trainer, MixAddsASecondSetAndExtraValSelectsOnBothDomains) {
  if (!have_data() || !std::filesystem::is_directory(moodtunes::test::data_dir() / "realfaces/train"))
    GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  o.epochs = 3;
  o.mix_dir = moodtunes::test::data_dir() / "realfaces/train";  // holds contempt/: left out
  o.mix_repeat = 2;
  o.extra_val_dir = moodtunes::test::data_dir() / "realfaces/val";
  Trainer t(o);
  t.run();
  // 7 x 24 FER faces plus 7 x 24 real faces twice, in batches of 16.
  EXPECT_EQ(t.global_step(), 3 * (7 * 24 * 3 / 16));
  std::ifstream in(dir / "metrics.jsonl");
  std::string line;
  int best_epoch = 0;
  double best = -1;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    ASSERT_TRUE(row.contains("extra_val_acc")) << line;
    const double score = 0.5 * (row["val_acc"].get<double>() + row["extra_val_acc"].get<double>());
    if (score > best) best = score, best_epoch = row["epoch"].get<int>();
  }
  const ModelFile model = load_model_file(dir / "best.mtm");
  EXPECT_EQ(model.info["trained_epochs"], best_epoch);
  EXPECT_EQ(model.info["hyper"]["mix_repeat"], 2);

  TrainOptions bad = o;
  bad.mix_repeat = 0;
  EXPECT_THROW(Trainer{bad}, std::invalid_argument);
}

TEST(Trainer, DeviceIsCheckedAndRecordedInTheModel) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  o.device = "tpu";
  EXPECT_THROW(Trainer{o}, std::invalid_argument);

  o.device = "auto";
  o.epochs = 1;
  Trainer(o).run();
  const auto info = EmotionClassifier::load(dir / "best.mtm").info();
  const std::string device = info.at("device");
  EXPECT_TRUE(device == "cpu" || device == "cuda") << device;  // one device: this run never resumed elsewhere
  EXPECT_FALSE(info.at("libtorch").get<std::string>().empty());
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string row;
  std::getline(metrics, row);
  EXPECT_EQ(nlohmann::json::parse(row).at("device"), device);
  if (device == "cpu") {  // "auto" found no GPU: asking for one must say so, not fall back
    o.device = "cuda";
    EXPECT_THROW(Trainer{o}, std::invalid_argument);
  }
}

TEST(Trainer, WeightAveragingResumesExactlyAndCompetesForTheBestModel) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir whole_dir, split_dir;
  TrainOptions o = small_run(whole_dir.path());
  o.epochs = 3;
  o.swa_epochs = 2;
  Trainer(o).run();
  const auto whole = load_model_file(whole_dir / "swa.mtm");
  EXPECT_EQ(whole.info.at("swa_models"), 2);
  EXPECT_DOUBLE_EQ(whole.info.at("hyper").at("swa_lr").get<double>(), o.lr / 10);

  // Stopped after the first SWA epoch, then resumed: the average must come out the same.
  o.out_dir = split_dir.path();
  o.max_steps = 2 * 10;
  Trainer(o).run();
  EXPECT_EQ(load_model_file(split_dir / "swa.mtm").info.at("swa_models"), 1);
  o.max_steps = 0;
  o.resume = true;
  Trainer(o).run();
  const auto split = load_model_file(split_dir / "swa.mtm");
  ASSERT_EQ(split.tensors.size(), whole.tensors.size());
  for (std::size_t i = 0; i < whole.tensors.size(); ++i) EXPECT_EQ(split.tensors[i].data, whole.tensors[i].data) << whole.tensors[i].name;

  std::ifstream metrics(whole_dir / "metrics.jsonl");
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(metrics, line);) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_FALSE(rows[0].contains("swa_models"));
  EXPECT_EQ(rows[2].at("swa_models"), 2);
  EXPECT_DOUBLE_EQ(rows[2].at("lr").get<double>(), o.lr / 10);
  // best.mtm is whichever of the epochs and averages scored highest on val.
  double best = 0;
  for (const auto& r : rows) best = std::max({best, r.at("val_acc").get<double>(), r.value("swa_val_acc", 0.0)});
  EXPECT_DOUBLE_EQ(load_model_file(whole_dir / "best.mtm").info.at("val").at("accuracy").get<double>(), best);

  o.swa_epochs = 4;  // more than the run has
  EXPECT_THROW(Trainer{o}, std::invalid_argument);
}

TEST(Trainer, CyclicWeightAveragingSnapshotsAtTheLowEndOfEachCycle) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  o.epochs = 2;
  o.swa_epochs = 2;
  o.swa_lr = 0.02;
  o.swa_schedule = "cyclic";
  Trainer(o).run();
  std::ifstream metrics(dir / "metrics.jsonl");
  for (std::string line; std::getline(metrics, line);)  // the last step of each epoch is the cycle's low end
    EXPECT_NEAR(nlohmann::json::parse(line).at("lr").get<double>(), 0.02 / 100, 1e-12);
  EXPECT_EQ(load_model_file(dir / "swa.mtm").info.at("hyper").at("swa_schedule"), "cyclic");
  o.swa_schedule = "sawtooth";
  EXPECT_THROW(Trainer{o}, std::invalid_argument);
}

TEST(Trainer, DistillationFollowsTheTeachersReadingAndCachesIt) {
  if (!have_data()) GTEST_SKIP() << "shared data not present";
  TempDir dir;
  TrainOptions base = small_run(dir.path() / "teacher");
  base.augment = false;  // a teacher sure of its training faces: targets far from uniform
  base.optimizer = "adamw";
  base.lr = 0.003;
  base.label_smoothing = 0;
  {
    Trainer teacher(base);
    for (int i = 0; i < 60; ++i) teacher.step();
    teacher.export_model(dir / "teacher.mtm", {});
  }
  TrainOptions o = small_run(dir.path() / "student");
  o.augment = false;  // a fixed target, so the drop is the optimiser's doing
  o.optimizer = "adamw";
  o.lr = 0.003;
  o.teacher_model = dir / "teacher.mtm";
  o.teacher_tta = "flip";
  o.distill_weight = 1;  // the soft targets alone
  o.seed = 11;  // not the teacher's initial weights
  const auto cache = o.out_dir / "teacher_targets.bin";
  const int per_epoch = 168 / 16;
  // Mean absolute difference between the student's and the teacher's flip readings of the
  // training faces.
  const FerDataset faces = load_fer(o.train_dir, {"Training", o.max_per_class});
  const auto teacher_probs = EmotionClassifier::load(dir / "teacher.mtm").classify_batch(faces.images, TestTimeAugmentation::kFlip);
  auto distance_to_teacher = [&](const Trainer& student) {
    student.export_model(dir / "student.mtm", {});
    const auto probs = EmotionClassifier::load(dir / "student.mtm").classify_batch(faces.images, TestTimeAugmentation::kFlip);
    double sum = 0;
    for (std::size_t i = 0; i < probs.size(); ++i)
      for (std::size_t c = 0; c < kNumEmotions; ++c) sum += std::abs(probs[i][c] - teacher_probs[i][c]);
    return sum / double(probs.size());
  };
  double computed_checksum = 0, distilled_distance = 0;
  {
    Trainer student(o);
    ASSERT_TRUE(std::filesystem::exists(cache));
    const double before = distance_to_teacher(student);
    for (int i = 0; i < 4 * per_epoch; ++i) student.step();
    const double after = distance_to_teacher(student);
    EXPECT_LT(after, 0.85 * before) << "distance to the teacher's reading: before " << before << ", after " << after;
    distilled_distance = after;
    computed_checksum = student.weights_checksum();
  }

  const auto cache_size = std::filesystem::file_size(cache);
  {  // From the cache: the same targets, so the same run.
    Trainer student(o);
    for (int i = 0; i < 4 * per_epoch; ++i) student.step();
    EXPECT_DOUBLE_EQ(student.weights_checksum(), computed_checksum);
  }
  std::filesystem::resize_file(cache, cache_size / 2);  // a torn cache is recomputed, not read
  {
    Trainer student(o);
    EXPECT_EQ(std::filesystem::file_size(cache), cache_size);
    for (int i = 0; i < 4 * per_epoch; ++i) student.step();
    EXPECT_DOUBLE_EQ(student.weights_checksum(), computed_checksum);
  }
  {  // Another teacher file: other targets, so another run.
    Trainer teacher(base);
    for (int i = 0; i < 3; ++i) teacher.step();
    teacher.export_model(dir / "teacher.mtm", {});
  }
  {
    Trainer student(o);
    for (int i = 0; i < 4 * per_epoch; ++i) student.step();
    EXPECT_NE(student.weights_checksum(), computed_checksum);
  }
  // Without a teacher the run differs, and a finished run records its teacher.
  TrainOptions plain = o;
  plain.teacher_model.clear();
  plain.out_dir = dir.path() / "plain";
  Trainer unguided(plain);
  for (int i = 0; i < 4 * per_epoch; ++i) unguided.step();
  EXPECT_NE(unguided.weights_checksum(), computed_checksum);
  EXPECT_LT(distilled_distance, distance_to_teacher(unguided)) << "the labels alone brought the student as close";
  o.epochs = 1;
  o.out_dir = dir.path() / "run";
  Trainer(o).run();
  const auto info = load_model_file(o.out_dir / "best.mtm").info;
  EXPECT_EQ(info.at("distillation").value("teacher_tta", ""), "flip");
  EXPECT_DOUBLE_EQ(info.at("distillation").value("weight", -1.0), 1.0);
}

TEST(Trainer, DistillationWeightOutsideZeroToOneIsRefused) {
  TempDir dir;
  TrainOptions o = small_run(dir.path());
  o.distill_weight = 1.5;
  EXPECT_THROW(Trainer{o}, std::invalid_argument);
}
