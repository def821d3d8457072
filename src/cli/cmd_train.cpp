// `moodtunes train`: LibTorch training of the emotion network (see train/trainer.hpp).
#include <cstdlib>

#include "cli/commands.hpp"
#include "cli/validators.hpp"
#ifndef MOODTUNES_TRAINER_ONLY  // the GPU build (scripts/device) carries no OpenCV DNN
#include "model/classifier.hpp"
#endif
#include "train/trainer.hpp"

namespace moodtunes::cli {

void add_train_command(CLI::App& app) {
  auto opt = std::make_shared<TrainOptions>();
  auto train_path = std::make_shared<std::string>(), val_path = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("runs/train");
  auto init = std::make_shared<std::string>();
  auto arch_name = std::make_shared<std::string>("standard");
  auto* cmd = app.add_subcommand("train", "Train the emotion CNN on FER-2013 (LibTorch, CPU or CUDA)");
  cmd->add_option("--train", *train_path, "Training data: FER folder layout or fer2013.csv (default $MOODTUNES_DATA/fer2013/train)");
  cmd->add_option("--val", *val_path, "Validation data used for model selection (default $MOODTUNES_DATA/fer2013/val)");
  cmd->add_option("--mix", opt->mix_dir,
                  "A second training set in the folder layout (e.g. $MOODTUNES_DATA/realfaces/train), trained on beside "
                  "--train; class folders other than the 7 emotions are left out")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--mix-repeat", opt->mix_repeat, "Times each epoch sees the --mix set (oversampling a small set)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--extra-val", opt->extra_val_dir,
                  "A second validation set (e.g. $MOODTUNES_DATA/realfaces/val): scored every epoch; best.mtm is then "
                  "selected on the mean of both accuracies")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("-o,--out", *out, "Run folder: checkpoint.pt, best.mtm, metrics.jsonl, plots")->capture_default_str();
  cmd->add_option("--epochs", opt->epochs, "Epochs (the LR schedule spans them)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--batch", opt->batch_size, "Batch size")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--optimizer", opt->optimizer, "sgd (Nesterov) | adamw")->capture_default_str()->check(CLI::IsMember({"sgd", "adamw"}));
  cmd->add_option("--lr", opt->lr, "Peak learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", opt->weight_decay, "Weight decay")->capture_default_str();
  cmd->add_option("--label-smoothing", opt->label_smoothing, "Label smoothing")->capture_default_str();
  cmd->add_option("--class-weight-power", opt->class_weight_power, "Class-imbalance loss weights (count^-power); 0 disables")->capture_default_str();
  cmd->add_option("--seed", opt->seed, "Random seed (same seed and threads: same run)")->capture_default_str()->check(seed_check());
  cmd->add_option("--threads", opt->threads, "Intra-op threads; 0 adapts to machine load")->capture_default_str();
  cmd->add_option("--device", opt->device, "cpu | cuda | auto (CUDA when this LibTorch has it and a GPU is visible)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--arch", *arch_name, "Architecture: standard | deep | fast | tiny")
      ->capture_default_str()
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kArchNames), std::end(kArchNames))));
  cmd->add_option("--init", *init,
                  "Warm start (weights only, new schedule) from a run's checkpoint.pt, whose architecture may be a "
                  "sub-network of --arch (e.g. standard -> deep: added blocks start as identity), or from a .mtm of "
                  "--arch or of a wider one (deep -> fast: its strongest channels are kept)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--max-per-class", opt->max_per_class, "Use at most N images per class (quick trials)");
  cmd->add_option("--max-steps", opt->max_steps, "Stop after N optimizer steps");
  cmd->add_flag("!--no-augment", opt->augment, "Disable data augmentation (experiments)");
  cmd->add_option("--scale-jitter", opt->scale_jitter, "Augmentation zoom range 1 +- this")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--resample-prob", opt->resample_prob,
                  "Probability that a training face first makes a round trip through a random resolution (0.5x-5x)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--camera-prob", opt->camera_prob,
                  "Probability that a training face also gets a camera's losses (low light or contrast, blur, sensor "
                  "noise, JPEG)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--swa-epochs", opt->swa_epochs,
                  "Stochastic weight averaging over the last N epochs (run at --swa-lr); writes swa.mtm")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--swa-lr", opt->swa_lr, "Constant learning rate of the SWA epochs (0 = --lr / 10)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--swa-schedule", opt->swa_schedule,
                  "SWA learning rate: constant, or cyclic (one cosine cycle per epoch, averaged at its low end)")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "cyclic"}));
#ifndef MOODTUNES_TRAINER_ONLY
  cmd->add_option("--teacher", opt->teacher_model,
                  "Distil from this model: its test-time-augmented reading of each training face is a soft target")
      ->check(CLI::ExistingFile);
  cmd->add_option("--teacher-tta", opt->teacher_tta, "The teacher's test-time views")
      ->capture_default_str()
      ->check(CLI::IsMember(tta_names()));
  cmd->add_option("--distill-weight", opt->distill_weight,
                  "Share of the loss given to the teacher's soft targets (the rest: the labels)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--distill-on", opt->distill_on,
                  "all: every training face has the teacher's target; train: only the --train faces (--mix faces "
                  "learn from their labels)")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "train"}));
#endif
  cmd->add_flag("--resume", opt->resume, "Continue exactly from <out>/checkpoint.pt");
  cmd->callback([=, &app] {
    TrainOptions o = *opt;
    o.train_dir = resolve_data_path(*train_path, "fer2013/train");
    o.val_dir = resolve_data_path(*val_path, "fer2013/val");
    o.out_dir = *out;
    o.init_model = *init;
    o.arch = ArchSpec::by_name(*arch_name);
    o.command_line = "moodtunes train";
    for (const auto& r : cmd->get_options())
      if (r->count() > 0 && !r->get_lnames().empty()) {
        o.command_line += " --" + r->get_lnames().front();
        for (const auto& v : r->results())
          if (v != "true") o.command_line += " " + v;
      }
    (void)app;
    Trainer trainer(std::move(o));
    trainer.run();
  });
}

}  // namespace moodtunes::cli
