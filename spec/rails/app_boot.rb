# frozen_string_literal: true

# The small Rails 6.1 application of the Rails specs (ActiveRecord, ActiveJob on its async
# adapter, Sidekiq). Booted in the rspec process by rails_helper.rb, and in the Sidekiq process
# the job specs start with `sidekiq -r ./spec/rails/app_boot.rb -q default`. The database comes
# from DATABASE_URL (rails_helper points it at a throwaway SQLite file), Redis from REDIS_URL
# (a throwaway redis-server), the log goes to UCRAWLER_SPEC_LOG.
ENV["RAILS_ENV"] = "test"
abort "spec/rails/app_boot.rb: DATABASE_URL must be set (rails_helper.rb sets it)" unless ENV["DATABASE_URL"]

$LOAD_PATH.unshift File.expand_path("../../lib", __dir__)

require "logger"
require "rails"
require "active_record/railtie"
require "active_job/railtie"
require "sidekiq"
require "ucrawler_native/rails"

# redis-rb 4.8 warns on every Sidekiq 6.4 push about a Redis 5 change that does not concern it.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

module UcrawlerSpecApp
  class Application < Rails::Application
    config.load_defaults 6.1 # Zeitwerk: thread-safe autoloading for Sidekiq's threads
    config.root = __dir__
    config.eager_load = false
    config.secret_key_base = "ucrawler-spec"
    config.logger = Logger.new(ENV.fetch("UCRAWLER_SPEC_LOG", File::NULL))
    config.log_level = :info
    config.active_job.queue_adapter = :async

    # The Railtie's defaults for every model crawl and job (the specs check they apply); one more
    # is set in config/initializers/ucrawler_native.rb.
    config.ucrawler_native.per_host = 8
    config.ucrawler_native.retries = 0
  end
end

UcrawlerSpecApp::Application.initialize!

# In the Sidekiq process: record what the specs check from outside, in the database. Single
# INSERT statements (`insert_all`), not `create!`: `create!` wraps BEGIN/INSERT/COMMIT, and with
# sqlite3-ruby 1.x a thread holding SQLite's write lock between statements needs the GVL to
# commit while another thread waits for the lock holding the GVL - a BusyException 20 s later.
Sidekiq.configure_server do
  UcrawlerNative.on_error do |error, context|
    ReportedError.insert_all([{ error_class: error.class.name, message: error.message, context: JSON.generate(context) }])
  end

  ActiveSupport::Notifications.subscribe("crawl.ucrawler_native") do |event|
    CrawlEvent.insert_all([{ pid: Process.pid, crawler_id: event.payload[:crawler].object_id,
                             thread_id: Thread.current.object_id, model: event.payload[:model],
                             seeds: event.payload[:count], pages: event.payload.dig(:stats, :pages),
                             started_at: Time.at(event.time / 1000.0), finished_at: Time.at(event.end / 1000.0) }])
  end
end
