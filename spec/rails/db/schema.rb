# frozen_string_literal: true

ActiveRecord::Schema.define do
  create_table :sites, force: true do |t|
    t.string :url
    t.string :title
    t.integer :http_status
    t.string :crawl_error
    t.datetime :crawled_at
    t.string :note
    t.timestamps null: true
  end

  # Pages kept fresh by recrawls (recrawl_spec.rb): the Site columns, plus what each row's last
  # visit learned (validators, in string columns as sent, or last_modified_at as a datetime)
  # and its adaptive schedule.
  create_table :watched_pages, force: true do |t|
    t.string :url
    t.string :title
    t.integer :http_status
    t.string :crawl_error
    t.datetime :crawled_at
    t.string :etag
    t.string :last_modified
    t.datetime :last_modified_at
    t.string :content_hash
    t.datetime :checked_at
    t.datetime :next_crawl_at
    t.integer :crawl_interval
    t.timestamps null: true
  end

  # A site's tags: for the specs of joined relations.
  create_table :tags, force: true do |t|
    t.bigint :site_id
    t.string :name
  end

  # The README's Redis example writes here (`bin/rails generate model Page url:string:uniq
  # title:string status:integer`).
  create_table :pages, force: true do |t|
    t.string :url
    t.string :title
    t.integer :status
    t.timestamps
  end
  add_index :pages, :url, unique: true

  create_table :crawl_events, force: true do |t|
    t.integer :pid
    t.bigint :crawler_id
    t.bigint :thread_id
    t.string :model
    t.integer :seeds
    t.integer :pages
    t.datetime :started_at, precision: 6
    t.datetime :finished_at, precision: 6
  end

  create_table :reported_errors, force: true do |t|
    t.string :error_class
    t.string :message
    t.text :context
  end
end
