# The production run: a character-level GPT on the prepared corpus.
out_dir = "runs/gpt-chars"
eval_interval = 250
eval_iters = 200
log_interval = 10

dataset = "chars"
batch_size = 64
block_size = 256

n_layer = 6
n_head = 6
n_embd = 384
dropout = 0.2

learning_rate = 1e-3
max_iters = 5000
lr_decay_iters = 5000
min_lr = 1e-4
warmup_iters = 100
